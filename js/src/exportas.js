// "Export as ▾" in the result bar: the selection (or every image shown) as a dataset
// for a labelling or training tool, or as a manifest. A format is chosen from the
// menu, then a form asks for the target path (a labelled field that starts empty);
// Python writes it with Collection.export, never over an existing file or folder, and
// an error comes back as text in the result bar's message.
import { h } from "./dom.js";
import { Request } from "./protocol.js";

// format, menu item, what the path becomes
const FORMATS = [
  ["coco", "COCO", "a COCO JSON file (boxes when labelled)", "e.g. exports/night-coco.json"],
  ["yolo", "YOLO", "a new folder: data.yaml, images/ (copies), labels/", "e.g. exports/night-yolo"],
  ["cvat", "CVAT", "a zip of annotations.xml (CVAT for images 1.1)", "e.g. exports/night-cvat.zip"],
  ["labelstudio", "Label Studio", "a tasks JSON file (images served by local-files storage)", "e.g. exports/night-tasks.json"],
  ["imagefolder", "Hugging Face imagefolder", "a new folder: metadata.csv and the images (copies)", "e.g. exports/night-hf"],
  ["fiftyone", "FiftyOne", "a new folder: data/ (copies) and labels.json", "e.g. exports/night-fiftyone"],
  ["csv", "CSV manifest", "one CSV file: path, score, tags, labels", "e.g. exports/night.csv"],
  ["jsonl", "JSONL manifest", "one JSON Lines file: path, score, tags, labels", "e.g. exports/night.jsonl"],
];

/**
 * `send`: the result bar's requester; `count()`: the images acted on (as the "With N
 * selected" button says); `onOpen()`: called when the form opens (the bar closes its
 * own). Returns {button, menu, form, close, update}.
 */
export function createExportAs({ send, count, onOpen }) {
  const plural = (n) => `${n} ${n === 1 ? "image" : "images"}`;
  const button = h("button", {
    class: "aisw-btn aisw-export-btn", text: "Export as ▾", "aria-haspopup": "menu", "aria-expanded": "false",
  });
  const menu = h("div", { class: "aisw-export-menu", role: "menu", hidden: true, "data-lm-suppress-shortcuts": "true" });
  const pathId = `aisw-export-${Math.random().toString(36).slice(2, 8)}`;
  const label = h("label", { class: "aisw-export-label", for: pathId });
  const path = h("input", { type: "text", class: "aisw-field aisw-export-path", id: pathId, maxlength: "4096" });
  const what = h("span", { class: "aisw-muted aisw-export-what" });
  const ok = h("button", { class: "aisw-btn aisw-primary aisw-export-ok", text: "Export" });
  const cancel = h("button", { class: "aisw-btn aisw-export-cancel", text: "Cancel" });
  const form = h("div", { class: "aisw-row aisw-export-form", role: "group", hidden: true, "data-lm-suppress-shortcuts": "true" }, [
    label, path, ok, cancel, what,
  ]);
  let format = null;

  const toggleMenu = (on) => {
    menu.hidden = !on;
    button.setAttribute("aria-expanded", String(on));
    if (on) menu.querySelector("button")?.focus();
  };
  for (const [key, name, desc, hint] of FORMATS) {
    menu.append(h("button", {
      class: "aisw-menu-item aisw-export-item", role: "menuitem", text: name, title: desc, dataset: { format: key },
      on: { click: () => open(key, name, desc, hint) },
    }));
  }
  button.addEventListener("click", () => toggleMenu(menu.hidden));
  menu.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      toggleMenu(false);
      button.focus();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const items = [...menu.querySelectorAll("button")];
      const at = items.indexOf(document.activeElement);
      items[(at + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length]?.focus();
    }
  });
  const onOutside = (e) => {
    if (!menu.hidden && !button.contains(e.target) && !menu.contains(e.target)) toggleMenu(false);
  };
  document.addEventListener("click", onOutside, true);

  function open(key, name, desc, hint) {
    toggleMenu(false);
    onOpen();
    format = { key, name };
    form.dataset.format = key;
    path.value = ""; // a target is always typed anew: nothing is overwritten by habit
    path.placeholder = hint;
    what.textContent = `Writes ${desc}; an existing file or folder is never replaced.`;
    ok.disabled = false;
    form.hidden = false;
    update();
    path.focus();
  }
  function close() {
    format = null;
    form.hidden = true;
    path.value = "";
  }
  function update() {
    if (format) label.textContent = `Export ${plural(count())} as ${format.name} to`;
    button.disabled = count() === 0;
  }
  function submit() {
    const f = format;
    const target = path.value.trim();
    if (!f) return;
    if (!target) return path.focus();
    ok.disabled = true;
    send(Request.EXPORT_AS, { path: target, format: f.key, count: count() }, (reply) => {
      ok.disabled = false;
      if (reply.ok && format === f) close();
    });
  }
  ok.addEventListener("click", submit);
  cancel.addEventListener("click", close);
  path.addEventListener("keydown", (e) => {
    if (e.key === "Enter") submit();
    if (e.key === "Escape") close();
  });
  return { button, menu, form, close, update, destroy: () => document.removeEventListener("click", onOutside, true) };
}
