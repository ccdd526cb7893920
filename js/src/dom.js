// DOM helpers. Every string from data (file names, tags, collection names, prompts)
// goes through textContent or an attribute setter: never through HTML parsing.

/**
 * Create an element. `props`: {class, text, title, type, value, placeholder, ...,
 * on: {event: handler}}. Children are nodes or strings (strings become text nodes).
 */
export function h(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = String(v);
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** Show a message (info or error) in a message element. */
export function showMessage(node, text, kind) {
  node.textContent = text || "";
  node.hidden = !text;
  node.classList.toggle("aisw-error", kind === "error");
  node.setAttribute("role", kind === "error" ? "alert" : "status");
}

/** A file size as people read it: "812 B", "4.2 KB", "1.31 MB"; "?" when unknown. */
export function fmtBytes(b) {
  if (b === null || b === undefined) return "?";
  if (b < 1024) return `${b} B`;
  return b < 1048576 ? `${(b / 1024).toFixed(1)} KB` : `${(b / 1048576).toFixed(2)} MB`;
}

/** A video time in seconds as `m:ss.s` (`h:mm:ss.s` past an hour), as Python writes it. */
export function fmtClock(seconds) {
  const s = Math.max(0, seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = (s % 60).toFixed(1).padStart(4, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** Whether a key event carries Ctrl, Cmd or Alt (a host shortcut, not ours to take). */
export function hasModifier(e) {
  return e.ctrlKey || e.metaKey || e.altKey;
}

export function fmtScore(s) {
  return typeof s === "number" && Number.isFinite(s) ? s.toFixed(3) : "–";
}

/** Blob URLs for binary buffers (DataView / ArrayBuffer), revoked together. */
export class BlobUrls {
  constructor() {
    this.urls = new Set();
  }
  make(buffer, type = "image/jpeg") {
    const view = buffer instanceof DataView ? buffer : new DataView(buffer);
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    this.urls.add(url);
    return url;
  }
  revokeAll() {
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls.clear();
  }
}
