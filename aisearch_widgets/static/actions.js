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

// src/protocol.js
var REPLY = "reply";
var Request = Object.freeze({
  "SEARCH_PROMPT": "search_prompt",
  "SEARCH_DIVERSE": "search_diverse",
  "SEARCH_SIMILAR": "search_similar",
  "TOGGLE_ENABLED": "toggle_enabled",
  "UPDATE_NOW": "update_now",
  "REMOVE_REFERENCE": "remove_reference",
  "THUMBS": "thumbs",
  "PREVIEW": "preview",
  "SIMILAR_ONE": "similar_one",
  "SIMILAR_SELECTED": "similar_selected",
  "OPEN": "open",
  "SAVE": "save",
  "TAG": "tag",
  "COPY": "copy",
  "EXPORT": "export",
  "SEARCH_DUPLICATES": "search_duplicates",
  "SEARCH_OUTLIERS": "search_outliers",
  "TAG_ALL_BUT_BEST": "tag_all_but_best",
  "DELETE_ALL_BUT_BEST": "delete_all_but_best"
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
var FIELDS = Object.freeze({
  "search_prompt": Object.freeze({ "prompt": "string", "limit": "integer" }),
  "search_diverse": Object.freeze({ "n": "integer", "method": "Method", "clusters": "integer" }),
  "search_similar": Object.freeze({ "ids": "list", "limit": "integer" }),
  "toggle_enabled": Object.freeze({}),
  "update_now": Object.freeze({}),
  "remove_reference": Object.freeze({ "id": "string" }),
  "thumbs": Object.freeze({ "ids": "list" }),
  "preview": Object.freeze({ "id": "string" }),
  "similar_one": Object.freeze({ "id": "string" }),
  "similar_selected": Object.freeze({}),
  "open": Object.freeze({ "name": "string" }),
  "save": Object.freeze({ "name": "string" }),
  "tag": Object.freeze({ "tag": "string" }),
  "copy": Object.freeze({ "dir": "string" }),
  "export": Object.freeze({ "path": "string" }),
  "search_duplicates": Object.freeze({}),
  "search_outliers": Object.freeze({ "n": "integer" }),
  "tag_all_but_best": Object.freeze({ "tag": "string" }),
  "delete_all_but_best": Object.freeze({ "count": "integer" })
});
var PARTS = Object.freeze({
  "search_prompt": "controls",
  "search_diverse": "controls",
  "search_similar": "controls",
  "toggle_enabled": "controls",
  "update_now": "controls",
  "remove_reference": "controls",
  "thumbs": "gallery",
  "preview": "gallery",
  "similar_one": "gallery",
  "similar_selected": "gallery",
  "open": "actions",
  "save": "actions",
  "tag": "actions",
  "copy": "actions",
  "export": "actions",
  "search_duplicates": "controls",
  "search_outliers": "controls",
  "tag_all_but_best": "actions",
  "delete_all_but_best": "actions"
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
    if (!msg.ok) showMessage(messageEl, msg.error || "The request failed.", "error");
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

// src/actions.js
function render({ model, el }) {
  el.classList.add("aisw", "aisw-actions");
  const message = h("div", { class: "aisw-message", hidden: true });
  const send = requester(model, message);
  const field = (placeholder, label) => h("input", { type: "text", placeholder, "aria-label": label, class: "aisw-field" });
  const nameIn = field("collection name", "Collection name");
  const tagIn = field("tag", "Tag");
  const dirIn = field("folder", "Target folder");
  const exportIn = field("manifest.csv or .jsonl", "Export path");
  const act = (input, type, key) => () => {
    const value = input.value.trim();
    if (!value) {
      input.focus();
      return;
    }
    send(type, { [key]: value });
  };
  const btn = (text, fn, cls = "aisw-btn") => h("button", { class: cls, text, on: { click: fn } });
  const saved = h("select", { class: "aisw-saved", "aria-label": "Saved collections" });
  const openBtn = btn("Open", () => saved.value && send(Request.OPEN, { name: saved.value }));
  const summary = h("span", { class: "aisw-muted aisw-summary" });
  const inputs = [
    [nameIn, Request.SAVE, "name"],
    [tagIn, Request.TAG, "tag"],
    [dirIn, Request.COPY, "dir"],
    [exportIn, Request.EXPORT, "path"]
  ];
  for (const [input, type, key] of inputs) {
    input.addEventListener("keydown", (e) => e.key === "Enter" && act(input, type, key)());
  }
  const dupTag = h("input", { type: "text", value: "duplicate", "aria-label": "Tag for the copies", class: "aisw-field" });
  const dupText = h("span", { class: "aisw-muted aisw-dup-summary" });
  const dupRow = h("div", { class: "aisw-row aisw-dup-actions", hidden: true }, [
    dupText,
    h("span", { class: "aisw-spacer" }),
    dupTag,
    btn("Tag all but the best", act(dupTag, Request.TAG_ALL_BUT_BEST, "tag"), "aisw-btn aisw-tag-but-best"),
    btn("Delete all but the best", () => {
      const n = model.get("extra_copies");
      const ok = window.confirm(
        `Delete ${n} ${n === 1 ? "file" : "files"} from disk (every copy but the best of each group)? This cannot be undone.`
      );
      if (ok) send(Request.DELETE_ALL_BUT_BEST, { count: n });
    }, "aisw-btn aisw-delete-but-best")
  ]);
  function updateDup() {
    const n = model.get("extra_copies");
    dupRow.hidden = n === 0;
    dupText.textContent = `${n} ${n === 1 ? "copy" : "copies"} besides the best of each group`;
  }
  model.on("change:extra_copies", updateDup);
  updateDup();
  el.append(
    dupRow,
    h("div", { class: "aisw-row" }, [
      summary,
      h("span", { class: "aisw-spacer" }),
      nameIn,
      btn("Save", act(...inputs[0]), "aisw-btn aisw-primary aisw-save"),
      tagIn,
      btn("Tag", act(...inputs[1]), "aisw-btn aisw-tag"),
      dirIn,
      btn("Copy to folder", act(...inputs[2]), "aisw-btn aisw-copy"),
      exportIn,
      btn("Export", act(...inputs[3]), "aisw-btn aisw-export"),
      saved,
      openBtn
    ]),
    message
  );
  function updateSaved() {
    const current = saved.value;
    clear(saved);
    saved.append(h("option", { value: "", text: "saved collections\u2026" }));
    for (const name of model.get("collections")) saved.append(h("option", { value: name, text: name }));
    saved.value = model.get("collections").includes(current) ? current : "";
  }
  model.on("change:collections", updateSaved);
  model.on("change:summary", () => summary.textContent = model.get("summary"));
  model.on(
    "change:message change:message_kind",
    () => showMessage(message, model.get("message"), model.get("message_kind"))
  );
  updateSaved();
  summary.textContent = model.get("summary");
  showMessage(message, model.get("message"), model.get("message_kind"));
}
var actions_default = { render };
export {
  actions_default as default
};
