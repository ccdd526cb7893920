// src/dom.js
function h(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === void 0 || v === null) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = String(v);
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === void 0 || c === false) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}
function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}
function showMessage(node, text, kind) {
  node.textContent = text || "";
  node.hidden = !text;
  node.classList.toggle("aisw-error", kind === "error");
  node.setAttribute("role", kind === "error" ? "alert" : "status");
}
function fmtBytes(b) {
  if (b === null || b === void 0) return "?";
  if (b < 1024) return `${b} B`;
  return b < 1048576 ? `${(b / 1024).toFixed(1)} KB` : `${(b / 1048576).toFixed(2)} MB`;
}
function fmtClock(seconds) {
  const s = Math.max(0, seconds);
  const h2 = Math.floor(s / 3600);
  const m = Math.floor(s % 3600 / 60);
  const sec = (s % 60).toFixed(1).padStart(4, "0");
  return h2 ? `${h2}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}
function hasModifier(e) {
  return e.ctrlKey || e.metaKey || e.altKey;
}
function fmtScore(s) {
  return typeof s === "number" && Number.isFinite(s) ? s.toFixed(3) : "\u2013";
}
var BlobUrls = class {
  constructor() {
    this.urls = /* @__PURE__ */ new Set();
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
};

// src/protocol.js
var REPLY = "reply";
var THUMBS_SENT = "thumbs_sent";
var Request = Object.freeze({
  "SEARCH_PROMPT": "search_prompt",
  "SEARCH_DIVERSE": "search_diverse",
  "SEARCH_SIMILAR": "search_similar",
  "TOGGLE_ENABLED": "toggle_enabled",
  "UPDATE_NOW": "update_now",
  "REMOVE_REFERENCE": "remove_reference",
  "THUMBS": "thumbs",
  "PAGE_AHEAD": "page_ahead",
  "PREVIEW": "preview",
  "SIMILAR_ONE": "similar_one",
  "SIMILAR_SELECTED": "similar_selected",
  "OPEN": "open",
  "SAVE": "save",
  "TAG": "tag",
  "UNTAG": "untag",
  "COPY": "copy",
  "MOVE": "move",
  "DELETE": "delete",
  "EXPORT": "export",
  "UNDO_DELETE": "undo_delete",
  "DROP_HIDDEN": "drop_hidden",
  "SEARCH_DUPLICATES": "search_duplicates",
  "SEARCH_OUTLIERS": "search_outliers",
  "TAG_ALL_BUT_BEST": "tag_all_but_best",
  "DELETE_ALL_BUT_BEST": "delete_all_but_best",
  "COMPARE": "compare",
  "SET_KEEPER": "set_keeper",
  "TRASH_GROUP": "trash_group",
  "CANCEL": "cancel",
  "SET_THRESHOLD": "set_threshold",
  "SET_RANGE": "set_range",
  "FULL_RANGE": "full_range",
  "DETAILS": "details",
  "TAG_IMAGES": "tag_images",
  "UNTAG_IMAGES": "untag_images",
  "SELECT_ALL": "select_all",
  "SET_SCOPE": "set_scope",
  "SCOPE_OPTIONS": "scope_options",
  "SEARCH_QUALITY": "search_quality",
  "EXPORT_AS": "export_as",
  "MARK": "mark",
  "REFINE": "refine",
  "LABELLING_FORM": "labelling_form",
  "SEND_TO_LABELLING": "send_to_labelling"
});
var Mode = Object.freeze({
  "PROMPT": "prompt",
  "DIVERSE": "diverse",
  "SIMILAR": "similar",
  "DUPLICATES": "duplicates",
  "OUTLIERS": "outliers"
});
var Method = Object.freeze({
  "CENTROIDS": "centroids",
  "RANDOM": "random"
});
var State = Object.freeze({
  "DISABLED": "disabled",
  "INDEXING": "indexing",
  "READY": "ready"
});
var MessageKind = Object.freeze({
  "INFO": "info",
  "ERROR": "error"
});
var View = Object.freeze({
  "GRID": "grid",
  "SEGMENTS": "segments"
});
var Side = Object.freeze({
  "ABOVE": "above",
  "BELOW": "below"
});
var ScoreFilter = Object.freeze({
  "ALL": "all",
  "ABOVE": "above",
  "BELOW": "below",
  "BETWEEN": "between"
});
var LabelKind = Object.freeze({
  "CHOICES": "choices",
  "BOXES": "boxes"
});
var Storage = Object.freeze({
  "LOCAL": "local",
  "UPLOAD": "upload"
});
var FIELDS = Object.freeze({
  "search_prompt": Object.freeze({ "prompt": "string", "limit": "integer" }),
  "search_diverse": Object.freeze({ "n": "integer", "method": "Method", "clusters": "integer" }),
  "search_similar": Object.freeze({ "ids": "list", "limit": "integer" }),
  "toggle_enabled": Object.freeze({}),
  "update_now": Object.freeze({}),
  "remove_reference": Object.freeze({ "id": "string" }),
  "thumbs": Object.freeze({ "ids": "list" }),
  "page_ahead": Object.freeze({ "page": "integer", "view": "integer" }),
  "preview": Object.freeze({ "id": "string", "size": "integer" }),
  "similar_one": Object.freeze({ "id": "string" }),
  "mark": Object.freeze({ "id": "string", "mark": "string" }),
  "refine": Object.freeze({}),
  "similar_selected": Object.freeze({ "count": "integer" }),
  "open": Object.freeze({ "name": "string" }),
  "save": Object.freeze({ "name": "string", "count": "integer" }),
  "tag": Object.freeze({ "tag": "string", "count": "integer" }),
  "untag": Object.freeze({ "tag": "string", "count": "integer" }),
  "copy": Object.freeze({ "dir": "string", "count": "integer" }),
  "move": Object.freeze({ "dir": "string", "count": "integer" }),
  "delete": Object.freeze({ "count": "integer" }),
  "export": Object.freeze({ "path": "string", "count": "integer" }),
  "undo_delete": Object.freeze({}),
  "drop_hidden": Object.freeze({}),
  "search_duplicates": Object.freeze({}),
  "search_outliers": Object.freeze({ "n": "integer" }),
  "tag_all_but_best": Object.freeze({ "tag": "string" }),
  "delete_all_but_best": Object.freeze({ "count": "integer" }),
  "compare": Object.freeze({ "group": "integer" }),
  "set_keeper": Object.freeze({ "id": "string" }),
  "trash_group": Object.freeze({ "group": "integer", "count": "integer" }),
  "cancel": Object.freeze({}),
  "set_threshold": Object.freeze({ "side": "Side", "value": "number" }),
  "set_range": Object.freeze({ "lo": "number", "hi": "number" }),
  "full_range": Object.freeze({}),
  "details": Object.freeze({ "id": "string" }),
  "tag_images": Object.freeze({ "ids": "list", "tag": "string" }),
  "untag_images": Object.freeze({ "ids": "list", "tag": "string" }),
  "select_all": Object.freeze({}),
  "set_scope": Object.freeze({ "within": "string", "name": "string", "filters": "list" }),
  "scope_options": Object.freeze({}),
  "search_quality": Object.freeze({ "issue": "string" }),
  "export_as": Object.freeze({ "path": "string", "format": "string", "count": "integer" }),
  "labelling_form": Object.freeze({}),
  "send_to_labelling": Object.freeze({ "url": "string", "project": "string", "labels": "string", "kind": "LabelKind", "storage": "Storage", "root": "string", "api_key": "string", "count": "integer" })
});
var PARTS = Object.freeze({
  "search_prompt": "controls",
  "search_diverse": "controls",
  "search_similar": "controls",
  "toggle_enabled": "controls",
  "update_now": "controls",
  "remove_reference": "controls",
  "thumbs": "gallery",
  "page_ahead": "gallery",
  "preview": "gallery",
  "similar_one": "gallery",
  "mark": "gallery",
  "refine": "actions",
  "similar_selected": "actions",
  "open": "actions",
  "save": "actions",
  "tag": "actions",
  "untag": "actions",
  "copy": "actions",
  "move": "actions",
  "delete": "actions",
  "export": "actions",
  "undo_delete": "actions",
  "drop_hidden": "actions",
  "search_duplicates": "controls",
  "search_outliers": "controls",
  "tag_all_but_best": "actions",
  "delete_all_but_best": "actions",
  "compare": "gallery",
  "set_keeper": "gallery",
  "trash_group": "gallery",
  "cancel": "controls",
  "set_threshold": "chart",
  "set_range": "chart",
  "full_range": "chart",
  "details": "gallery",
  "tag_images": "gallery",
  "untag_images": "gallery",
  "select_all": "gallery",
  "set_scope": "controls",
  "scope_options": "controls",
  "search_quality": "controls",
  "export_as": "actions",
  "labelling_form": "actions",
  "send_to_labelling": "actions"
});

// src/requests.js
function requester(model, messageEl) {
  const view = Math.random().toString(36).slice(2, 10);
  let next = 0;
  const pending = /* @__PURE__ */ new Map();
  model.on("msg:custom", (msg, buffers) => {
    if (!msg || msg.type !== REPLY || !pending.has(msg.rid)) return;
    const onReply = pending.get(msg.rid);
    pending.delete(msg.rid);
    if (!msg.ok && !msg.cancelled) showMessage(messageEl, msg.error || "The request failed.", "error");
    onReply(msg, buffers || []);
  });
  return function send(type, fields = {}, onReply = () => {
  }) {
    const spec = FIELDS[type];
    const names = Object.keys(fields);
    if (!spec || names.length !== Object.keys(spec).length || !names.every((k) => k in spec)) {
      throw new Error(`aisearch_widgets: a ${type} request does not match the protocol`);
    }
    const rid = `${view}-${++next}`;
    pending.set(rid, onReply);
    model.send({ ...fields, type, rid });
    return rid;
  };
}

// src/labels.js
var SVG = "http://www.w3.org/2000/svg";
var CHIPS = 3;
function labelChips(labels, pick) {
  const list = labels || [];
  const row = h("div", { class: "aisw-card-labels", title: list.length ? `Labels: ${list.join(", ")}` : null }, [
    ...list.slice(0, CHIPS).map((l) => h("span", {
      class: "aisw-label-chip",
      text: l,
      title: `Show only the images labelled ${l}`,
      dataset: { label: l },
      on: { click: (e) => {
        e.stopPropagation();
        pick(l);
      } }
    })),
    list.length > CHIPS ? h("span", { class: "aisw-tag-more", text: `+${list.length - CHIPS}` }) : null
  ]);
  row.hidden = list.length === 0;
  return row;
}
function createLabelFilter(model) {
  const setSel = h("select", { class: "aisw-label-set", "aria-label": "Label set shown" });
  const labelSel = h("select", { class: "aisw-label-filter", "aria-label": "Show only the images with this label" });
  const setWrap = h("label", { class: "aisw-field-wrap", hidden: true }, [h("span", { class: "aisw-muted", text: "Label set" }), setSel]);
  const el = h("span", { class: "aisw-label-filter-wrap", hidden: true }, [
    setWrap,
    h("label", { class: "aisw-field-wrap" }, [h("span", { class: "aisw-muted", text: "Label" }), labelSel])
  ]);
  const write = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  function update() {
    const sets = model.get("label_sets") || [];
    const labels = [...model.get("labels") || []];
    const chosen = model.get("label_filter");
    clear(setSel);
    for (const s of sets) setSel.append(h("option", { value: s, text: s }));
    setSel.value = sets.includes(model.get("label_set")) ? model.get("label_set") : sets[0] || "";
    setWrap.hidden = sets.length < 2;
    clear(labelSel);
    labelSel.append(h("option", { value: "", text: "All images" }));
    if (chosen && !labels.some((l) => l.label === chosen)) labels.unshift({ label: chosen, n: 0 });
    for (const l of labels) labelSel.append(h("option", { value: l.label, text: `${l.label} (${l.n})` }));
    labelSel.value = chosen || "";
    el.hidden = sets.length === 0;
    el.classList.toggle("aisw-tag-filter-on", Boolean(chosen));
  }
  labelSel.addEventListener("change", () => write("label_filter", labelSel.value));
  setSel.addEventListener("change", () => write("label_set", setSel.value));
  model.on("change:labels change:label_sets change:label_set change:label_filter", update);
  update();
  return { el, set: (label) => write("label_filter", label) };
}
function drawBoxes(svg, d) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const boxes = d && d.boxes || [];
  const ok = boxes.length > 0 && d.width > 0 && d.height > 0;
  svg.style.display = ok ? "" : "none";
  if (!ok) return;
  svg.setAttribute("viewBox", `0 0 ${d.width} ${d.height}`);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const font = Math.max(d.width, d.height) / 40;
  for (const b of boxes) {
    const g = document.createElementNS(SVG, "g");
    g.setAttribute("class", "aisw-box");
    const rect = document.createElementNS(SVG, "rect");
    for (const [k, v] of [["x", b.x], ["y", b.y], ["width", b.w], ["height", b.h]]) rect.setAttribute(k, String(v));
    rect.setAttribute("vector-effect", "non-scaling-stroke");
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", String(b.x));
    text.setAttribute("y", String(Math.max(font, b.y - font * 0.3)));
    text.setAttribute("font-size", String(font));
    const conf = typeof b.confidence === "number" ? ` ${b.confidence.toFixed(2)}` : "";
    text.textContent = `${b.label}${conf}`;
    g.append(rect, text);
    svg.append(g);
  }
}
function boxLayer() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "aisw-lb-boxes");
  svg.setAttribute("aria-hidden", "true");
  svg.style.display = "none";
  return svg;
}

// src/lightbox.js
var TINY = 300;
var MAX_PREVIEW = 2048;
function boxSize(stage) {
  const ratio = window.devicePixelRatio || 1;
  const side = Math.max(stage.clientWidth, stage.clientHeight, 1) * ratio;
  return Math.min(MAX_PREVIEW, Math.max(64, Math.round(side)));
}
function createLightbox({ model, send, gallery }) {
  const urls = new BlobUrls();
  let current = null;
  let seq = 0;
  const img = h("img", { class: "aisw-preview", alt: "" });
  const prev = h("button", { class: "aisw-lb-nav aisw-lb-prev", text: "\u2039", title: "Previous (\u2190)", "aria-label": "Previous image" });
  const next = h("button", { class: "aisw-lb-nav aisw-lb-next", text: "\u203A", title: "Next (\u2192)", "aria-label": "Next image" });
  const close = h("button", { class: "aisw-btn aisw-lb-close", text: "\u2715", title: "Close (Esc)", "aria-label": "Close the preview" });
  const position = h("span", { class: "aisw-lb-position" });
  const title = h("span", { class: "aisw-lb-title", id: `aisw-lb-title-${Math.random().toString(36).slice(2, 8)}` });
  const facts = h("dl", { class: "aisw-lb-facts" });
  const tagList = h("div", { class: "aisw-lb-tags", "aria-label": "Tags" });
  const selectBtn = h("button", { class: "aisw-btn aisw-lb-select", "aria-pressed": "false" });
  const tagBtn = h("button", { class: "aisw-btn aisw-lb-tag", text: "Tag\u2026 (t)" });
  const similarBtn = h("button", { class: "aisw-btn aisw-lb-similar", text: "\u2248 Similar images" });
  const tagInput = h("input", { type: "text", class: "aisw-lb-tag-input", placeholder: "tag", "aria-label": "Tag name", maxlength: "100" });
  const tagHints = h("datalist", { id: `aisw-lb-tags-${Math.random().toString(36).slice(2, 8)}` });
  tagInput.setAttribute("list", tagHints.id);
  const tagSelected = h("button", { type: "submit", class: "aisw-btn aisw-primary aisw-lb-tag-selected" });
  const tagThis = h("button", { type: "button", class: "aisw-btn aisw-lb-tag-this", text: "This image" });
  const tagCancel = h("button", { type: "button", class: "aisw-btn aisw-lb-tag-cancel", text: "Cancel" });
  const tagForm = h("form", { class: "aisw-lb-tag-form", hidden: true }, [
    h("label", { class: "aisw-lb-tag-label", text: "Tag" }),
    tagInput,
    tagHints,
    h("div", { class: "aisw-row" }, [tagSelected, tagThis, tagCancel])
  ]);
  const status = h("div", { class: "aisw-lb-status", role: "status" });
  const boxes = boxLayer();
  const labelList = h("div", { class: "aisw-lb-labels", "aria-label": "Labels" });
  const stage = h("div", { class: "aisw-lb-stage" }, [img, boxes, prev, next]);
  const side = h("div", { class: "aisw-lb-side" }, [
    facts,
    h("div", { class: "aisw-lb-heading", text: "Labels" }),
    labelList,
    h("div", { class: "aisw-lb-heading", text: "Tags" }),
    tagList,
    h("div", { class: "aisw-lb-actions" }, [selectBtn, tagBtn, similarBtn]),
    tagForm,
    status
  ]);
  const root = h("div", {
    class: "aisw aisw-lightbox",
    role: "dialog",
    "aria-modal": "true",
    "aria-labelledby": title.id,
    tabindex: "-1"
  }, [
    h("div", { class: "aisw-lb-bar" }, [position, title, h("span", { class: "aisw-spacer" }), close]),
    h("div", { class: "aisw-lb-main" }, [stage, side])
  ]);
  const isOpen = () => root.isConnected;
  const selected = () => new Set(model.get("selected"));
  function setSelected(set) {
    model.set("selected", [...set]);
    model.save_changes();
  }
  function show(item) {
    const again = current && current.id === item.id;
    current = item;
    const mine = ++seq;
    if (!again) {
      urls.revokeAll();
      const thumb = gallery.thumbUrl(item.id);
      if (thumb) img.src = thumb;
      else img.removeAttribute("src");
      img.classList.remove("aisw-pixelated");
      clear(facts);
      clear(tagList);
      clear(labelList);
      drawBoxes(boxes, null);
      status.textContent = "";
      closeTagForm(false);
    }
    img.alt = item.name;
    title.textContent = item.name;
    title.title = item.name;
    const i = gallery.index(item.id);
    position.textContent = i < 0 ? "" : gallery.position(i);
    prev.disabled = i < 0 || !gallery.canGo(i, -1);
    next.disabled = i < 0 || !gallery.canGo(i, 1);
    updateSelect();
    if (!isOpen()) {
      document.body.append(root);
      root.focus();
    }
    if (again) return;
    send(Request.PREVIEW, { id: item.id, size: boxSize(stage) }, (reply, buffers) => {
      if (mine !== seq || !reply.ok || !buffers[0]) return;
      img.src = urls.make(buffers[0]);
    });
    loadDetails(mine);
  }
  function loadDetails(mine = seq) {
    const id = current.id;
    send(Request.DETAILS, { id }, (reply) => {
      if (mine !== seq || !reply.ok) return;
      showDetails(reply.details);
    });
  }
  img.addEventListener("load", () => {
    img.classList.toggle("aisw-pixelated", img.naturalWidth <= TINY && img.naturalHeight <= TINY);
  });
  function showDetails(d) {
    clear(facts);
    const row = (k, v) => facts.append(h("dt", { text: k }), h("dd", { text: v }));
    title.textContent = d.name;
    title.title = d.name;
    row("Name", d.name);
    if (typeof d.score === "number") row("Score", `${fmtScore(d.score)} (#${d.rank})`);
    if (d.kind === "frame" && typeof d.t === "number") row("Video time", fmtClock(d.t));
    row("Dimensions", d.width && d.height ? `${d.width} \xD7 ${d.height} px` : "?");
    row(d.kind === "frame" ? "Video size" : "File size", fmtBytes(d.bytes));
    clear(labelList);
    const labels = d.labels || [];
    if (!labels.length) labelList.append(h("span", { class: "aisw-muted", text: "none" }));
    for (const l of labels) labelList.append(h("span", { class: "aisw-label-chip", text: l }));
    drawBoxes(boxes, d);
    clear(tagList);
    if (!d.tags.length) tagList.append(h("span", { class: "aisw-muted", text: "none" }));
    for (const t of d.tags) {
      tagList.append(h("span", { class: "aisw-tag-chip" }, [
        h("span", { class: "aisw-tag-chip-name", text: t }),
        h("button", {
          class: "aisw-tag-chip-x",
          text: "\xD7",
          title: `Remove the tag ${t}`,
          "aria-label": `Remove the tag ${t}`,
          on: { click: () => untag(t) }
        })
      ]));
    }
  }
  function updateSelect() {
    if (!current) return;
    const on = selected().has(current.id);
    selectBtn.textContent = on ? "\u2611 Selected (Space)" : "\u2610 Select (Space)";
    selectBtn.setAttribute("aria-pressed", String(on));
    const n = selected().size;
    tagSelected.textContent = n ? `Tag ${n} selected` : "Tag this image";
    tagThis.hidden = n === 0;
  }
  function toggleSelect() {
    const sel = selected();
    if (sel.has(current.id)) sel.delete(current.id);
    else sel.add(current.id);
    setSelected(sel);
  }
  function openTagForm() {
    updateSelect();
    clear(tagHints);
    for (const t of gallery.knownTags()) tagHints.append(h("option", { value: t }));
    tagForm.hidden = false;
    tagInput.value = "";
    tagInput.focus();
  }
  function closeTagForm(refocus = true) {
    tagForm.hidden = true;
    if (refocus && isOpen()) root.focus();
  }
  function tag(ids) {
    const t = tagInput.value.trim();
    if (!t) return tagInput.focus();
    send(Request.TAG_IMAGES, { ids, tag: t }, (reply) => {
      if (!reply.ok) {
        status.textContent = reply.error || "Tagging failed.";
        return;
      }
      status.textContent = `Tagged ${ids.length} ${ids.length === 1 ? "image" : "images"} \u201C${t}\u201D.`;
      closeTagForm();
      if (current) loadDetails();
    });
  }
  function untag(t) {
    send(Request.UNTAG_IMAGES, { ids: [current.id], tag: t }, (reply) => {
      status.textContent = reply.ok ? `Removed the tag \u201C${t}\u201D.` : reply.error || "Untagging failed.";
      if (reply.ok && current) loadDetails();
    });
  }
  tagForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const sel = model.get("selected");
    tag(sel.length ? [...sel] : [current.id]);
  });
  tagThis.addEventListener("click", () => tag([current.id]));
  tagCancel.addEventListener("click", () => closeTagForm());
  function go(delta) {
    if (!current) return;
    const i = gallery.index(current.id);
    if (i < 0) return;
    const items = gallery.items();
    const j = i + delta;
    if (j >= 0 && j < items.length) show(items[j]);
    else gallery.turn(delta);
  }
  function hide() {
    if (!isOpen()) return;
    const id = current ? current.id : null;
    root.remove();
    urls.revokeAll();
    img.removeAttribute("src");
    current = null;
    seq += 1;
    if (id) gallery.focusCard(id);
  }
  prev.addEventListener("click", () => go(-1));
  next.addEventListener("click", () => go(1));
  close.addEventListener("click", hide);
  selectBtn.addEventListener("click", toggleSelect);
  tagBtn.addEventListener("click", openTagForm);
  similarBtn.addEventListener("click", () => {
    const id = current.id;
    hide();
    send(Request.SIMILAR_ONE, { id });
  });
  stage.addEventListener("click", (e) => e.target === stage && hide());
  root.addEventListener("keydown", (e) => {
    const typing = e.target === tagInput;
    if (e.key === "Tab") return trapTab(e);
    if (hasModifier(e)) return;
    e.stopPropagation();
    if (typing) {
      if (e.key === "Escape") {
        e.preventDefault();
        closeTagForm();
      }
      return;
    }
    const keys = {
      ArrowLeft: () => go(-1),
      ArrowRight: () => go(1),
      Escape: () => tagForm.hidden ? hide() : closeTagForm(),
      " ": toggleSelect,
      t: openTagForm
    };
    const fn = e.target.tagName === "BUTTON" && e.key === " " ? null : keys[e.key];
    if (fn) {
      e.preventDefault();
      fn();
    }
  });
  function trapTab(e) {
    const focusable = [...root.querySelectorAll("button, input")].filter(
      (n) => !n.disabled && n.offsetParent !== null
    );
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (e.shiftKey && (document.activeElement === first || document.activeElement === root)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
    e.stopPropagation();
  }
  return {
    show,
    hide,
    isOpen,
    current: () => current,
    updateSelect,
    destroy() {
      hide();
      urls.revokeAll();
    }
  };
}

// src/compare.js
function createCompare(send) {
  const compareBody = h("div", { class: "aisw-compare-body" });
  const compareTitle = h("div", { class: "aisw-compare-title", role: "heading", "aria-level": "3" });
  const compareTrash = h("button", { class: "aisw-btn aisw-danger aisw-compare-trash" });
  const compareClose = h("button", { class: "aisw-btn aisw-compare-close", text: "Close" });
  const compare = h("div", { class: "aisw-overlay aisw-compare", hidden: true, tabindex: "-1", role: "dialog", "aria-label": "Compare a group" }, [
    h("div", { class: "aisw-compare-box" }, [
      compareTitle,
      compareBody,
      h("div", { class: "aisw-row" }, [h("span", { class: "aisw-spacer" }), compareTrash, compareClose])
    ])
  ]);
  const compareUrls = new BlobUrls();
  let compareGroup = null;
  function openCompare(group) {
    compareGroup = group;
    send(Request.COMPARE, { group }, showCompare);
  }
  function closeCompare() {
    compare.hidden = true;
    compareGroup = null;
    compareUrls.revokeAll();
    clear(compareBody);
  }
  function showCompare(reply, buffers) {
    if (!reply.ok || compareGroup === null) return;
    compareUrls.revokeAll();
    clear(compareBody);
    const rows = reply.rows || [];
    const copies = rows.filter((r) => !r.keep).length;
    compareTitle.textContent = `Group ${compareGroup + 1} \xB7 ${rows.length} images \xB7 the kept copy first`;
    for (const r of rows) {
      const pic = h("img", { class: "aisw-compare-pic", alt: r.name });
      if (r.pic >= 0 && buffers[r.pic]) pic.src = compareUrls.make(buffers[r.pic]);
      const facts = [
        `${r.format || "?"} \xB7 ${r.width ?? "?"}\xD7${r.height ?? "?"} px \xB7 ${fmtBytes(r.bytes)}`,
        ...Object.entries(r.facts || {}).map(([k, v]) => `${k}: ${v}`)
      ];
      const col = h("div", { class: r.keep ? "aisw-compare-col aisw-compare-kept" : "aisw-compare-col", dataset: { id: r.id } }, [
        r.keep ? h("span", { class: "aisw-best-badge", text: "kept" }) : h("button", {
          class: "aisw-btn aisw-keep-this",
          text: "Keep this one instead",
          on: { click: () => send(Request.SET_KEEPER, { id: r.id }, (rep) => rep.ok && openCompare(compareGroup)) }
        }),
        h("div", { class: "aisw-frame aisw-compare-frame" }, [pic]),
        h("div", { class: "aisw-name", text: r.name, title: r.path }),
        ...facts.map((f) => h("div", { class: "aisw-muted aisw-compare-fact", text: f })),
        r.error ? h("div", { class: "aisw-error", text: r.error }) : null
      ]);
      if (r.diff >= 0 && buffers[r.diff]) {
        col.append(
          h("div", { class: "aisw-frame aisw-compare-frame" }, [
            h("img", { class: "aisw-compare-diff", alt: `difference of ${r.name} to the kept copy`, src: compareUrls.make(buffers[r.diff]) })
          ]),
          h("div", { class: "aisw-muted aisw-compare-fact", text: `difference to the kept copy: ${r.diff_pct}% (brightened 4\xD7)` })
        );
      }
      compareBody.append(col);
    }
    compareTrash.textContent = `Keep the marked copy, move ${copies} to trash`;
    compareTrash.hidden = copies === 0;
    compareTrash.onclick = () => {
      const g = compareGroup;
      send(Request.TRASH_GROUP, { group: g, count: copies }, (rep) => rep.ok && closeCompare());
    };
    compare.hidden = false;
    compare.focus();
  }
  compareClose.addEventListener("click", closeCompare);
  compare.addEventListener("click", (e) => e.target === compare && closeCompare());
  compare.addEventListener("keydown", (e) => e.key === "Escape" && closeCompare());
  return { el: compare, open: openCompare, destroy: () => compareUrls.revokeAll() };
}

// src/feedback.js
function feedbackButtons(id, name, model, send) {
  const make = (mark, text, what) => h("button", {
    class: `aisw-mark aisw-mark-${mark}`,
    text,
    tabindex: "-1",
    title: `Mark as ${what} for Refine (key ${mark === "up" ? "+" : "-"}); again to clear`,
    "aria-label": `Mark ${name} as ${what}`,
    "aria-pressed": "false",
    dataset: { mark },
    on: { click: (e) => {
      e.stopPropagation();
      toggleMark(model, send, id, mark);
    } }
  });
  const row = h("span", { class: "aisw-marks" }, [make("up", "\u{1F44D}", "relevant"), make("down", "\u{1F44E}", "not relevant")]);
  showMark(row, (model.get("marks") || {})[id]);
  return row;
}
function toggleMark(model, send, id, mark) {
  const now = (model.get("marks") || {})[id];
  send(Request.MARK, { id, mark: now === mark ? "none" : mark });
}
function markOfKey(key) {
  return key === "+" ? "up" : key === "-" ? "down" : null;
}
function showMark(row, mark) {
  for (const b of row.querySelectorAll(".aisw-mark")) {
    const on = b.dataset.mark === mark;
    b.classList.toggle("aisw-mark-on", on);
    b.setAttribute("aria-pressed", String(on));
  }
  row.closest?.(".aisw-card")?.classList.toggle("aisw-marked", Boolean(mark));
}

// src/gallery.js
var CHIPS2 = 3;
var KEYS = [
  ["\u2190 \u2192 \u2191 \u2193", "move between images"],
  ["Shift + arrows", "select a range"],
  ["Space", "select or deselect"],
  ["Shift + click", "select a range"],
  ["Ctrl/\u2318 + A", "select all results (every page)"],
  ["Enter", "open the preview"],
  ["t", "tag the selection (or this image)"],
  ["Esc", "clear the selection"],
  ["Home / End", "first / last image of the page"],
  ["Page Up / Down", "previous / next page"],
  ["In the preview", "\u2190 \u2192 previous / next \xB7 Space select \xB7 t tag \xB7 Esc close"]
];
function render({ model, el }) {
  el.classList.add("aisw", "aisw-gallery");
  const message = h("div", { class: "aisw-message", hidden: true });
  const send = requester(model, message);
  const urls = new BlobUrls();
  let token = 0;
  let cards = /* @__PURE__ */ new Map();
  let order = [];
  let activeId = null;
  let anchorId = null;
  let rangeBase = null;
  let afterBuild = null;
  let shown = [];
  let ahead = null;
  let asking = null;
  const sent = /* @__PURE__ */ new Map();
  const countLabel = h("span", { class: "aisw-count", "aria-live": "polite" });
  const prevBtn = h("button", { class: "aisw-btn", text: "\u2039 Prev", title: "Previous page (Page Up)" });
  const nextBtn = h("button", { class: "aisw-btn", text: "Next \u203A", title: "Next page (Page Down)" });
  const selectPageBtn = h("button", { class: "aisw-btn", text: "Select page" });
  const clearBtn = h("button", { class: "aisw-btn", text: "Clear selection" });
  const selCount = h("span", { class: "aisw-sel-count aisw-muted", "aria-live": "polite" });
  const viewBtn = h("button", { class: "aisw-btn aisw-view-toggle", hidden: true });
  const tagFilter = h("select", { class: "aisw-tag-filter", "aria-label": "Show only the images with this tag" });
  const tagFilterWrap = h("label", { class: "aisw-tag-filter-wrap", hidden: true }, [
    h("span", { class: "aisw-muted", text: "Tag" }),
    tagFilter
  ]);
  const labelFilter = createLabelFilter(model);
  const helpBtn = h("button", {
    class: "aisw-btn aisw-help-btn",
    text: "?",
    title: "Keyboard shortcuts (?)",
    "aria-label": "Keyboard shortcuts",
    "aria-expanded": "false"
  });
  const toolbar = h("div", { class: "aisw-toolbar" }, [
    prevBtn,
    countLabel,
    nextBtn,
    viewBtn,
    tagFilterWrap,
    labelFilter.el,
    h("span", { class: "aisw-spacer" }),
    selCount,
    selectPageBtn,
    clearBtn,
    helpBtn
  ]);
  const help = h("div", { class: "aisw-help", role: "dialog", "aria-label": "Keyboard shortcuts", hidden: true, tabindex: "-1" }, [
    h("div", { class: "aisw-help-title", text: "Keyboard (click a thumbnail or Tab to the grid first)" }),
    h("dl", {}, KEYS.flatMap(([k, what]) => [h("dt", {}, [h("kbd", { text: k })]), h("dd", { text: what })])),
    h("button", { class: "aisw-btn aisw-help-close", text: "Close" })
  ]);
  const tagInput = h("input", { type: "text", class: "aisw-grid-tag-input", placeholder: "tag", "aria-label": "Tag name", maxlength: "100" });
  const tagHints = h("datalist", { id: `aisw-tags-${Math.random().toString(36).slice(2, 8)}` });
  tagInput.setAttribute("list", tagHints.id);
  const tagWhat = h("span", { class: "aisw-grid-tag-what" });
  const tagForm = h("form", { class: "aisw-row aisw-grid-tag-form", hidden: true, "data-lm-suppress-shortcuts": "true" }, [
    tagWhat,
    tagInput,
    tagHints,
    h("button", { type: "submit", class: "aisw-btn aisw-primary", text: "Tag" }),
    h("button", { type: "button", class: "aisw-btn aisw-grid-tag-cancel", text: "Cancel" })
  ]);
  const grid = h("div", {
    class: "aisw-grid",
    role: "listbox",
    "aria-multiselectable": "true",
    "aria-label": "Results"
  });
  const segBody = h("tbody");
  const segTable = h("table", { class: "aisw-segments", hidden: true }, [
    h("thead", {}, [
      h("tr", {}, ["Video", "Start", "End", "Frames", "Best score"].map((c) => h("th", { text: c })))
    ]),
    segBody
  ]);
  const empty = h("div", { class: "aisw-empty aisw-muted", text: "No results yet." });
  const compare = createCompare(send);
  el.append(toolbar, help, tagForm, message, grid, segTable, empty, compare.el);
  viewBtn.addEventListener("click", () => {
    model.set("view", model.get("view") === View.SEGMENTS ? View.GRID : View.SEGMENTS);
    model.save_changes();
  });
  const page = () => model.get("page");
  const pages = () => Math.max(1, Math.ceil(model.get("total") / model.get("page_size")));
  const items = () => shown;
  const indexOf = (id) => order.indexOf(id);
  const lightbox = createLightbox({
    model,
    send,
    gallery: {
      items,
      index: indexOf,
      thumbUrl: (id) => cards.get(id) && cards.get(id).img.getAttribute("src") || null,
      position: (i) => `${page() * model.get("page_size") + i + 1} of ${model.get("total")}`,
      canGo: (i, d) => d < 0 ? i > 0 || page() > 0 : i + 1 < order.length || page() + 1 < pages(),
      turn: (d) => turnPage(d, d > 0 ? "first" : "last"),
      knownTags: () => (model.get("tags") || []).map((t) => t.tag),
      focusCard: (id) => setActive(id, true)
    }
  });
  const openPreview = (id, other = null) => {
    const it = cards.get(id);
    if (it) lightbox.show(it.item);
    else if (other) lightbox.show(other);
  };
  function turnPage(delta, land) {
    const p = page() + delta;
    if (p < 0 || p >= pages()) return false;
    afterBuild = land;
    const hit = ahead && ahead.page === p && ahead.view === model.get("view_id") ? ahead : null;
    if (!hit) dropAhead();
    ahead = null;
    model.set("page", p);
    model.save_changes();
    if (hit) buildPage(hit.items, hit.bufs, hit);
    return true;
  }
  function buildSegments() {
    clear(segBody);
    const segs = model.get("segments") || [];
    for (const s of segs) {
      const row = h("tr", { class: "aisw-segment", title: "Click to see its best frame", dataset: { id: s.id } }, [
        h("td", { text: s.name, title: s.path }),
        h("td", { text: s.start }),
        h("td", { text: s.end }),
        h("td", { text: String(s.frames) }),
        h("td", { text: fmtScore(s.score) })
      ]);
      if (s.id) row.addEventListener("click", () => openPreview(s.id, { id: s.id, name: s.name, time: "" }));
      segBody.append(row);
    }
    updateView();
  }
  function updateView() {
    const n = (model.get("segments") || []).length;
    const segs = n > 0 && model.get("view") === View.SEGMENTS;
    viewBtn.hidden = n === 0;
    viewBtn.textContent = segs ? "Thumbnails" : `Segments (${n})`;
    segTable.hidden = !segs;
    grid.hidden = segs;
    for (const b of [prevBtn, nextBtn, countLabel]) b.hidden = segs;
  }
  prevBtn.addEventListener("click", () => turnPage(-1, null));
  nextBtn.addEventListener("click", () => turnPage(1, null));
  clearBtn.addEventListener("click", () => setSelected(/* @__PURE__ */ new Set()));
  selectPageBtn.addEventListener("click", () => {
    const sel = new Set(model.get("selected"));
    for (const id of order) sel.add(id);
    setSelected(sel);
  });
  function setSelected(set) {
    model.set("selected", [...set]);
    model.save_changes();
  }
  function toggle(id) {
    const sel = new Set(model.get("selected"));
    if (sel.has(id)) sel.delete(id);
    else sel.add(id);
    anchorId = id;
    rangeBase = null;
    setSelected(sel);
  }
  function selectRange(id) {
    if (anchorId === null || indexOf(anchorId) < 0) {
      toggle(id);
      return;
    }
    if (rangeBase === null) rangeBase = new Set(model.get("selected"));
    const [a, b] = [indexOf(anchorId), indexOf(id)].sort((x, y) => x - y);
    const sel = new Set(rangeBase);
    for (const i of order.slice(a, b + 1)) sel.add(i);
    setSelected(sel);
  }
  let allCount = null;
  function selectAll() {
    send(Request.SELECT_ALL, {}, (reply) => {
      if (!reply.ok) return;
      allCount = reply.count;
      showMessage(message, `Selected all ${reply.count} images shown (every page).`, "info");
    });
  }
  function updateSelection() {
    const sel = new Set(model.get("selected"));
    for (const [id, c] of cards) {
      const on = sel.has(id);
      c.box.checked = on;
      c.card.classList.toggle("aisw-selected", on);
      c.card.setAttribute("aria-selected", String(on));
    }
    clearBtn.disabled = sel.size === 0;
    if (allCount !== null && sel.size !== allCount) {
      allCount = null;
      showMessage(message, "", "info");
    }
    selCount.textContent = sel.size ? `${sel.size} selected` : "";
    lightbox.updateSelect();
  }
  function updateToolbar() {
    const total = model.get("total");
    const ps = model.get("page_size");
    const first = total ? page() * ps + 1 : 0;
    const last = Math.min(total, (page() + 1) * ps);
    countLabel.textContent = total ? `${first}\u2013${last} of ${total}` : "0 images";
    prevBtn.disabled = page() === 0;
    nextBtn.disabled = page() + 1 >= pages();
  }
  function updateTags() {
    const tags = model.get("tags") || [];
    const chosen = model.get("tag_filter");
    clear(tagFilter);
    tagFilter.append(h("option", { value: "", text: "All images" }));
    const names = tags.map((t) => t.tag);
    if (chosen && !names.includes(chosen)) tags.unshift({ tag: chosen, n: 0 });
    for (const t of tags) tagFilter.append(h("option", { value: t.tag, text: `${t.tag} (${t.n})` }));
    tagFilter.value = chosen || "";
    tagFilterWrap.hidden = tags.length === 0 && !chosen;
    tagFilterWrap.classList.toggle("aisw-tag-filter-on", Boolean(chosen));
    updateEmpty();
  }
  tagFilter.addEventListener("change", () => setTagFilter(tagFilter.value));
  function setTagFilter(tag) {
    model.set("tag_filter", tag);
    model.save_changes();
  }
  function updateEmpty() {
    const tag = model.get("tag_filter");
    empty.textContent = tag && model.get("empty_text") !== "No results yet." ? `No results tagged \u201C${tag}\u201D here. Choose \u201CAll images\u201D in the tag filter to see the others.` : model.get("empty_text");
  }
  function toggleHelp(on = help.hidden) {
    help.hidden = !on;
    helpBtn.setAttribute("aria-expanded", String(on));
    if (on) help.focus();
    else if (activeId) setActive(activeId, true);
  }
  helpBtn.addEventListener("click", () => toggleHelp());
  help.querySelector(".aisw-help-close").addEventListener("click", () => toggleHelp(false));
  help.addEventListener("keydown", (e) => {
    if (hasModifier(e) || e.key === "Tab") return;
    e.stopPropagation();
    if (e.key === "Escape" || e.key === "?") {
      e.preventDefault();
      toggleHelp(false);
    }
  });
  let tagIds = [];
  function openTagForm() {
    const sel = model.get("selected");
    tagIds = sel.length ? [...sel] : activeId ? [activeId] : [];
    if (!tagIds.length) return;
    tagWhat.textContent = sel.length ? `Tag the ${sel.length} selected ${sel.length === 1 ? "image" : "images"}:` : `Tag ${cards.get(activeId).item.name}:`;
    clear(tagHints);
    for (const t of model.get("tags") || []) tagHints.append(h("option", { value: t.tag }));
    tagForm.hidden = false;
    tagInput.value = "";
    tagInput.focus();
  }
  function closeTagForm() {
    tagForm.hidden = true;
    if (activeId) setActive(activeId, true);
  }
  tagForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const tag = tagInput.value.trim();
    if (!tag) return;
    send(Request.TAG_IMAGES, { ids: tagIds, tag }, (reply) => reply.ok && closeTagForm());
  });
  tagForm.querySelector(".aisw-grid-tag-cancel").addEventListener("click", closeTagForm);
  tagForm.addEventListener("keydown", (e) => {
    if (hasModifier(e) || e.key === "Tab") return;
    e.stopPropagation();
    if (e.key === "Escape") {
      e.preventDefault();
      closeTagForm();
    }
  });
  el.addEventListener("keydown", (e) => {
    if (hasModifier(e) || e.key === "Tab" || e.key === "Escape" || e.key === "Enter" && e.shiftKey) return;
    e.stopPropagation();
  });
  function setActive(id, focus) {
    if (!cards.has(id)) return;
    if (activeId !== id && cards.has(activeId)) cards.get(activeId).card.tabIndex = -1;
    activeId = id;
    const card = cards.get(id).card;
    card.tabIndex = 0;
    if (focus) {
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }
  function vertical(dir) {
    const cur = cards.get(activeId).card.getBoundingClientRect();
    const cx = cur.left + cur.width / 2;
    let best = null;
    let bestKey = null;
    for (const id of order) {
      const r = cards.get(id).card.getBoundingClientRect();
      const beyond = dir > 0 ? r.top >= cur.bottom - 1 : r.bottom <= cur.top + 1;
      if (!beyond) continue;
      const key = [Math.round(dir > 0 ? r.top : -r.bottom), Math.abs(r.left + r.width / 2 - cx)];
      if (!bestKey || key[0] < bestKey[0] || key[0] === bestKey[0] && key[1] < bestKey[1]) {
        best = id;
        bestKey = key;
      }
    }
    return best;
  }
  function moveTo(id, extend) {
    if (id === null || id === void 0) return;
    if (extend) {
      if (anchorId === null || indexOf(anchorId) < 0) {
        anchorId = activeId;
        rangeBase = null;
      }
      setActive(id, true);
      selectRange(id);
    } else {
      rangeBase = null;
      setActive(id, true);
    }
  }
  grid.addEventListener("keydown", (e) => {
    const card = e.target.closest(".aisw-card");
    if (!card || !cards.has(card.dataset.id)) return;
    if (activeId !== card.dataset.id) setActive(card.dataset.id, false);
    const i = indexOf(activeId);
    const mod = e.ctrlKey || e.metaKey;
    let done = true;
    if (mod && !e.altKey && (e.key === "a" || e.key === "A")) selectAll();
    else if (hasModifier(e) || e.key === "Tab") return;
    else if (e.key === "Enter" && e.shiftKey) return;
    else if (e.key === "ArrowRight") moveTo(order[Math.min(i + 1, order.length - 1)], e.shiftKey);
    else if (e.key === "ArrowLeft") moveTo(order[Math.max(i - 1, 0)], e.shiftKey);
    else if (e.key === "ArrowDown") moveTo(vertical(1), e.shiftKey);
    else if (e.key === "ArrowUp") moveTo(vertical(-1), e.shiftKey);
    else if (e.key === "Home") moveTo(order[0], e.shiftKey);
    else if (e.key === "End") moveTo(order[order.length - 1], e.shiftKey);
    else if (e.key === "PageDown") turnPage(1, "first");
    else if (e.key === "PageUp") turnPage(-1, "first");
    else if (e.key === " ") toggle(activeId);
    else if (e.key === "Enter") openPreview(activeId);
    else if (e.key === "t") openTagForm();
    else if (markOfKey(e.key)) toggleMark(model, send, activeId, markOfKey(e.key));
    else if (e.key === "?") toggleHelp(true);
    else if (e.key === "Escape") {
      if (!model.get("selected").length) return;
      anchorId = null;
      rangeBase = null;
      setSelected(/* @__PURE__ */ new Set());
    } else done = false;
    e.stopPropagation();
    if (done) e.preventDefault();
  });
  function groupHeader(it) {
    const n = it.group_size;
    const copies = n - 1;
    const kind = it.group_kind ? ` \xB7 ${it.group_kind}` : "";
    const trash = h("button", { class: "aisw-btn aisw-trash-group", text: `Trash ${copies} ${copies === 1 ? "copy" : "copies"}\u2026` });
    const confirm = h("button", { class: "aisw-btn aisw-danger aisw-trash-group-confirm", hidden: true, text: `Move ${copies} to trash` });
    const cancel = h("button", { class: "aisw-btn", hidden: true, text: "Cancel" });
    const ask = (on) => {
      trash.hidden = on;
      confirm.hidden = !on;
      cancel.hidden = !on;
      if (on) confirm.focus();
    };
    trash.addEventListener("click", () => ask(true));
    cancel.addEventListener("click", () => ask(false));
    confirm.addEventListener(
      "click",
      () => send(Request.TRASH_GROUP, { group: it.group, count: copies }, () => ask(false))
    );
    return h("div", {
      class: "aisw-group-header",
      dataset: { group: String(it.group) }
    }, [
      h("span", { role: "heading", "aria-level": "3", text: `Group ${it.group + 1} \xB7 ${n} ${n === 1 ? "image" : "images"}${kind}` }),
      h("button", { class: "aisw-btn aisw-compare-btn", text: "Compare", on: { click: () => compare.open(it.group) } }),
      trash,
      confirm,
      cancel
    ]);
  }
  function chipsOf(it) {
    const tags = it.tags || [];
    const shown2 = tags.slice(0, CHIPS2);
    const row = h("div", { class: "aisw-card-tags", title: tags.length ? `Tags: ${tags.join(", ")}` : null }, [
      ...shown2.map((t) => h("span", {
        class: "aisw-tag-chip",
        text: t,
        title: `Show only the images tagged ${t}`,
        dataset: { tag: t },
        on: {
          click: (e) => {
            e.stopPropagation();
            setTagFilter(t);
          }
        }
      })),
      tags.length > CHIPS2 ? h("span", { class: "aisw-tag-more", text: `+${tags.length - CHIPS2}` }) : null
    ]);
    row.hidden = tags.length === 0;
    return row;
  }
  function keepBadge() {
    return h("span", { class: "aisw-best-badge", text: "keep", title: "The copy kept: only proposed until you trash the others" });
  }
  function showKeeper(c, best) {
    c.card.classList.toggle("aisw-best", best);
    const badge = c.card.querySelector(".aisw-best-badge");
    if (best && !badge) c.card.querySelector(".aisw-caption").prepend(keepBadge());
    else if (!best && badge) badge.remove();
  }
  function buildCard(it, decoded = null) {
    const id = it.id;
    const img = decoded || h("img", { class: "aisw-thumb", loading: "eager", decoding: "async" });
    img.alt = it.name;
    const box = h("input", { type: "checkbox", class: "aisw-check", tabindex: "-1", "aria-label": `Select ${it.name}` });
    box.addEventListener("click", (e) => {
      e.stopPropagation();
      if (e.shiftKey) selectRange(id);
      else toggle(id);
      setActive(id, true);
    });
    const menu = h("button", {
      class: "aisw-similar-one",
      text: "\u2248",
      tabindex: "-1",
      title: "Search similar to this image",
      "aria-label": `Search similar to ${it.name}`,
      on: { click: (e) => {
        e.stopPropagation();
        send(Request.SIMILAR_ONE, { id });
      } }
    });
    const frame = h("div", { class: "aisw-frame", title: "Click to enlarge (Enter); Shift+click selects a range" }, [img]);
    const caption = h("div", { class: "aisw-caption" }, [
      it.best ? keepBadge() : null,
      it.match ? h("span", { class: "aisw-match", text: it.match, title: `How this copy matches the kept one: ${it.match}` }) : null,
      it.issue ? h("span", { class: "aisw-match aisw-issue", text: it.issue.replace(/_/g, " "), title: "Its worst quality issue; the score is how far beyond this project's usual" }) : null,
      h("span", { class: "aisw-score", text: fmtScore(it.score) }),
      it.time ? h("span", { class: "aisw-time", text: it.time, title: `time in ${it.name}` }) : null,
      h("span", { class: "aisw-name", text: it.name, title: it.path || it.name })
    ]);
    const tags = chipsOf(it);
    const labels = labelChips(it.labels, labelFilter.set);
    const marks = feedbackButtons(id, it.name, model, send);
    const card = h("div", {
      class: it.best ? "aisw-card aisw-best" : "aisw-card",
      role: "option",
      tabindex: "-1",
      "aria-selected": "false",
      "aria-label": it.name,
      dataset: { id, rank: String(it.rank) }
    }, [frame, box, menu, marks, caption, labels, tags]);
    showMark(marks, (model.get("marks") || {})[id]);
    card.addEventListener("click", (e) => {
      if (e.shiftKey) selectRange(id);
      else if (e.ctrlKey || e.metaKey) toggle(id);
      else {
        setActive(id, true);
        openPreview(id);
        return;
      }
      setActive(id, true);
    });
    card.addEventListener("mousedown", (e) => e.shiftKey && e.preventDefault());
    return { card, img, box, tags, labels, marks, item: it };
  }
  function askAhead() {
    const p = page() + 1;
    const view = model.get("view_id");
    const key = `${view}:${p}`;
    if (!shown.length || p >= pages() || asking === key) return;
    if (ahead && ahead.view === view && ahead.page === p) return;
    asking = key;
    send(Request.PAGE_AHEAD, { page: p, view }, (reply, buffers) => {
      if (asking === key) asking = null;
      const list = reply.items || [];
      if (!reply.ok || reply.view !== view || view !== model.get("view_id") || !list.length) return;
      const bufs = /* @__PURE__ */ new Map();
      (reply.ids || []).forEach((id, i) => {
        if (buffers[i] && buffers[i].byteLength) bufs.set(id, buffers[i]);
      });
      if (p === page() + 1) {
        dropAhead();
        const urls2 = new BlobUrls();
        const imgs = /* @__PURE__ */ new Map();
        for (const [id, b] of bufs) {
          const img = h("img", { class: "aisw-thumb", loading: "eager", decoding: "async" });
          img.src = urls2.make(b);
          img.decode().catch(() => {
          });
          imgs.set(id, img);
        }
        ahead = { view, page: p, items: list, bufs, imgs, urls: urls2 };
      } else if (p === page()) drawArrived(list, bufs);
    });
  }
  function dropAhead() {
    if (ahead) ahead.urls.revokeAll();
    ahead = null;
  }
  function drawArrived(list, bufs) {
    const ids = list.map((it) => it.id);
    const same = ids.length === order.length && ids.every((id, i) => id === order[i]);
    if (!same) buildPage(list, bufs);
    else if (el.dataset.painted !== String(token) && ids.every((id) => bufs.get(id))) {
      paint(token, { ids }, ids.map((id) => bufs.get(id)));
    }
  }
  function setPainted(mine) {
    el.dataset.painted = String(mine);
    askAhead();
  }
  function buildPage(list = model.get("items"), bufs = sent, pre = null) {
    const ids = list.map((it) => it.id);
    const focused = grid.contains(document.activeElement);
    if (ids.length && ids.length === order.length && ids.every((id, i) => id === order[i])) {
      for (const it of list) {
        const c = cards.get(it.id);
        const [chips, labels] = [chipsOf(it), labelChips(it.labels, labelFilter.set)];
        c.tags.replaceWith(chips);
        c.labels.replaceWith(labels);
        [c.tags, c.labels] = [chips, labels];
        showKeeper(c, Boolean(it.best));
        c.item = it;
      }
      shown = list;
      sent.clear();
      const cur = lightbox.current();
      if (cur && cards.has(cur.id)) lightbox.show(cards.get(cur.id).item);
      if (el.dataset.painted === String(token)) askAhead();
      return;
    }
    urls.revokeAll();
    if (pre) {
      for (const u of pre.urls.urls) urls.urls.add(u);
      pre.urls.urls.clear();
    }
    clear(grid);
    cards = /* @__PURE__ */ new Map();
    order = ids;
    shown = list;
    token += 1;
    delete el.dataset.painted;
    empty.hidden = list.length > 0;
    updateEmpty();
    let group;
    for (const it of list) {
      if (it.group !== void 0 && it.group !== group) {
        group = it.group;
        grid.append(groupHeader(it));
      }
      const c = buildCard(it, pre && pre.imgs.get(it.id));
      grid.append(c.card);
      cards.set(it.id, c);
    }
    const land = afterBuild;
    afterBuild = null;
    const keep = cards.has(activeId) ? activeId : null;
    const target = land === "last" ? order[order.length - 1] : land === "first" ? order[0] : keep || order[0];
    if (target) setActive(target, focused && !lightbox.isOpen());
    else activeId = null;
    if (lightbox.isOpen()) {
      const cur = lightbox.current();
      if (land && target) lightbox.show(cards.get(target).item);
      else if (!cur || !cards.has(cur.id)) lightbox.hide();
    }
    updateSelection();
    updateToolbar();
    const mine = token;
    const here = ids.map((id) => bufs.get(id));
    sent.clear();
    if (pre && list.length && ids.every((id) => pre.imgs.has(id))) {
      whenLoaded(mine, ids.map((id) => cards.get(id).img));
    } else if (list.length && here.every((b) => b)) {
      paint(mine, { ids }, here);
    } else if (list.length) {
      send(Request.THUMBS, { ids }, (reply, buffers) => {
        if (mine === token && el.dataset.painted !== String(mine)) paint(mine, reply, buffers);
      });
    } else {
      setPainted(mine);
    }
  }
  function whenLoaded(mine, imgs) {
    let pending = 0;
    const done = () => {
      pending -= 1;
      if (pending <= 0 && mine === token) setPainted(mine);
    };
    for (const img of imgs) {
      if (img.complete) continue;
      pending += 1;
      img.addEventListener("load", done, { once: true });
      img.addEventListener("error", done, { once: true });
    }
    if (pending === 0) setPainted(mine);
  }
  function paint(mine, reply, buffers) {
    let pending = 0;
    const done = () => {
      pending -= 1;
      if (pending <= 0 && mine === token) setPainted(mine);
    };
    (reply.ids || []).forEach((id, i) => {
      const c = cards.get(id);
      if (!c || !buffers[i] || buffers[i].byteLength === 0) return;
      pending += 1;
      c.img.addEventListener("load", done, { once: true });
      c.img.addEventListener("error", done, { once: true });
      c.img.src = urls.make(buffers[i]);
    });
    if (pending === 0) setPainted(mine);
  }
  model.on("change:items", () => buildPage());
  model.on("change:view_id", dropAhead);
  model.on("msg:custom", (msg, buffers) => {
    if (!msg || msg.type !== THUMBS_SENT || !Array.isArray(msg.ids)) return;
    sent.clear();
    msg.ids.forEach((id, i) => {
      const b = (buffers || [])[i];
      if (b && b.byteLength) sent.set(id, b);
    });
  });
  model.on("change:marks", () => {
    const m = model.get("marks") || {};
    for (const [id, c] of cards) showMark(c.marks, m[id]);
  });
  model.on("change:segments", buildSegments);
  model.on("change:view", updateView);
  model.on("change:selected", updateSelection);
  model.on("change:tags change:tag_filter", updateTags);
  model.on("change:total change:page change:page_size", updateToolbar);
  model.on("change:empty_text", updateEmpty);
  const updateMessage = () => showMessage(message, model.get("message"), model.get("message_kind"));
  model.on("change:message change:message_kind", updateMessage);
  updateMessage();
  updateTags();
  buildPage();
  buildSegments();
  return () => {
    urls.revokeAll();
    dropAhead();
    lightbox.destroy();
    compare.destroy();
  };
}
var gallery_default = { render };
export {
  gallery_default as default
};
