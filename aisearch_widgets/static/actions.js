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

// src/actions.js
function render({ model, el }) {
  el.classList.add("aisw", "aisw-actions");
  const field = (placeholder, label) => h("input", { type: "text", placeholder, "aria-label": label, class: "aisw-field" });
  const nameIn = field("collection name", "Collection name");
  const tagIn = field("tag", "Tag");
  const dirIn = field("folder", "Target folder");
  const exportIn = field("manifest.csv or .jsonl", "Export path");
  const act = (type, input, key) => () => {
    const value = input.value.trim();
    if (!value) {
      input.focus();
      return;
    }
    model.send({ type, [key]: value });
  };
  const btn = (text, fn, cls = "aisw-btn") => h("button", { class: cls, text, on: { click: fn } });
  const saved = h("select", { class: "aisw-saved", "aria-label": "Saved collections" });
  const openBtn = btn("Open", () => saved.value && model.send({ type: "open", name: saved.value }));
  const summary = h("span", { class: "aisw-muted aisw-summary" });
  const message = h("div", { class: "aisw-message", hidden: true });
  for (const [input, type, key] of [[nameIn, "save", "name"], [tagIn, "tag", "tag"], [dirIn, "copy", "dir"], [exportIn, "export", "path"]]) {
    input.addEventListener("keydown", (e) => e.key === "Enter" && act(type, input, key)());
  }
  el.append(
    h("div", { class: "aisw-row" }, [
      summary,
      h("span", { class: "aisw-spacer" }),
      nameIn,
      btn("Save", act("save", nameIn, "name"), "aisw-btn aisw-primary aisw-save"),
      tagIn,
      btn("Tag", act("tag", tagIn, "tag"), "aisw-btn aisw-tag"),
      dirIn,
      btn("Copy to folder", act("copy", dirIn, "dir"), "aisw-btn aisw-copy"),
      exportIn,
      btn("Export", act("export", exportIn, "path"), "aisw-btn aisw-export"),
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
