// Collection actions on what the gallery shows: save under a name, tag, copy to a
// folder, export a manifest; and reopening a saved collection. For a duplicates view:
// tag or delete every copy but the best of each group (deleting asks first).
import { h, clear, showMessage } from "./dom.js";
import { Request } from "./protocol.js";
import { requester } from "./requests.js";

function render({ model, el }) {
  el.classList.add("aisw", "aisw-actions");
  const message = h("div", { class: "aisw-message", hidden: true });
  const send = requester(model, message);
  const field = (placeholder, label) =>
    h("input", { type: "text", placeholder, "aria-label": label, class: "aisw-field" });
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
    [exportIn, Request.EXPORT, "path"],
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
        `Delete ${n} ${n === 1 ? "file" : "files"} from disk (every copy but the best of each group)? This cannot be undone.`,
      );
      if (ok) send(Request.DELETE_ALL_BUT_BEST, { count: n });
    }, "aisw-btn aisw-delete-but-best"),
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
      nameIn, btn("Save", act(...inputs[0]), "aisw-btn aisw-primary aisw-save"),
      tagIn, btn("Tag", act(...inputs[1]), "aisw-btn aisw-tag"),
      dirIn, btn("Copy to folder", act(...inputs[2]), "aisw-btn aisw-copy"),
      exportIn, btn("Export", act(...inputs[3]), "aisw-btn aisw-export"),
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
