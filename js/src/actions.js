// Collection actions on what the gallery shows: save under a name, tag, copy to a
// folder, export a manifest; and reopening a saved collection.
import { h, clear, showMessage } from "./dom.js";

function render({ model, el }) {
  el.classList.add("aisw", "aisw-actions");
  const field = (placeholder, label) =>
    h("input", { type: "text", placeholder, "aria-label": label, class: "aisw-field" });
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
      nameIn, btn("Save", act("save", nameIn, "name"), "aisw-btn aisw-primary aisw-save"),
      tagIn, btn("Tag", act("tag", tagIn, "tag"), "aisw-btn aisw-tag"),
      dirIn, btn("Copy to folder", act("copy", dirIn, "dir"), "aisw-btn aisw-copy"),
      exportIn, btn("Export", act("export", exportIn, "path"), "aisw-btn aisw-export"),
      saved, openBtn,
    ]),
    message,
  );

  function updateSaved() {
    const current = saved.value;
    clear(saved);
    saved.append(h("option", { value: "", text: "saved collections…" }));
    for (const name of model.get("collections")) saved.append(h("option", { value: name, text: name }));
    saved.value = model.get("collections").includes(current) ? current : "";
  }
  model.on("change:collections", updateSaved);
  model.on("change:summary", () => (summary.textContent = model.get("summary")));
  model.on("change:message change:message_kind", () =>
    showMessage(message, model.get("message"), model.get("message_kind")),
  );
  updateSaved();
  summary.textContent = model.get("summary");
  showMessage(message, model.get("message"), model.get("message_kind"));
}

export default { render };
