// The result bar above the gallery: a header naming what the gallery shows (set by
// Python), and the "With N selected ▾" menu holding every action. Without a
// selection it reads "All N shown ▾". The number on the button is the number acted
// on: each request carries it, and Python refuses when it no longer matches.
// Selected images hidden by the score filter are counted openly ("(44 hidden)").
// Actions that need a name or a folder open a small form whose field starts empty.
// A delete moves files to the project's trash and offers Undo. For a duplicates
// view: tag or trash every copy but the kept one of each group (confirmed first).
import { h, clear, showMessage } from "./dom.js";
import { Request } from "./protocol.js";
import { requester } from "./requests.js";
import { createExportAs } from "./exportas.js";
import { createSendLab } from "./sendlab.js";

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function render({ model, el }) {
  el.classList.add("aisw", "aisw-actions");
  const message = h("span", { class: "aisw-message", hidden: true });
  const send = requester(model, message);
  const selected = () => model.get("n_selected");
  const count = () => selected() || model.get("n_shown");

  // -- the menu and its actions ------------------------------------------------------
  // label(n): what the form asks; field: the request's text field (none: a plain
  // confirmation); danger: the confirm button is red.
  const ACTIONS = [
    { key: "save", item: "Save as collection…", request: Request.SAVE, field: "name",
      placeholder: "collection name", ok: "Save",
      label: (n) => `Save ${plural(n, "image", "images")} as the collection` },
    { key: "tag", item: "Tag…", request: Request.TAG, field: "tag", placeholder: "tag", ok: "Tag",
      label: (n) => `Add a tag to ${plural(n, "image", "images")}:` },
    { key: "untag", item: "Remove a tag…", request: Request.UNTAG, field: "tag", placeholder: "tag",
      ok: "Remove tag", label: (n) => `Remove a tag from ${plural(n, "image", "images")}:` },
    { key: "copy", item: "Copy to folder…", request: Request.COPY, field: "dir", placeholder: "folder",
      ok: "Copy", label: (n) => `Copy ${plural(n, "file", "files")} into the folder` },
    { key: "move", item: "Move to folder…", request: Request.MOVE, field: "dir", placeholder: "folder",
      ok: "Move", label: (n) => `Move ${plural(n, "file", "files")} into the folder` },
    { key: "delete", item: "Delete (move to trash)…", request: Request.DELETE, ok: "Move to trash",
      danger: true,
      label: (n) => `Move ${plural(n, "file", "files")} to the project's trash? You can undo it.` },
    { key: "export", item: "Export manifest…", request: Request.EXPORT, field: "path",
      placeholder: "e.g. manifest.csv", ok: "Export",
      label: (n) => `Export ${plural(n, "row", "rows")} (path, score, tags) to` },
  ];
  const menuBtn = h("button", {
    class: "aisw-btn aisw-primary aisw-menu-btn",
    "aria-haspopup": "menu",
    "aria-expanded": "false",
  });
  // Keys pressed in the menu and the form are theirs, not JupyterLab's notebook
  // shortcuts (ArrowDown would otherwise also move to the next cell).
  const menu = h("div", {
    class: "aisw-menu", role: "menu", hidden: true, "data-lm-suppress-shortcuts": "true",
  });
  const item = (text, cls, fn) =>
    h("button", { class: `aisw-menu-item ${cls}`, role: "menuitem", text, on: { click: fn } });
  for (const a of ACTIONS) menu.append(item(a.item, `aisw-do-${a.key}`, () => openForm(a)));
  menu.append(item("Send to labelling…", "aisw-do-sendlab", () => {
    closeMenu();
    sendLab.open();
  }));
  const similarItem = item("Search similar to the selection", "aisw-do-similar", () => {
    closeMenu();
    send(Request.SIMILAR_SELECTED, { count: count() });
  });
  const dropItem = item("", "aisw-do-drop-hidden", () => {
    closeMenu();
    send(Request.DROP_HIDDEN);
  });
  menu.append(h("hr", { class: "aisw-menu-sep" }), similarItem, dropItem);
  const openMenu = () => {
    menu.hidden = false;
    menuBtn.setAttribute("aria-expanded", "true");
    menu.querySelector("button:not([disabled])")?.focus();
  };
  function closeMenu() {
    menu.hidden = true;
    menuBtn.setAttribute("aria-expanded", "false");
  }
  menuBtn.addEventListener("click", () => (menu.hidden ? openMenu() : closeMenu()));
  const onOutside = (e) => {
    if (!menu.hidden && !menuBtn.contains(e.target) && !menu.contains(e.target)) closeMenu();
  };
  document.addEventListener("click", onOutside, true);
  menu.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      closeMenu();
      menuBtn.focus();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault(); // the notebook must not scroll or move to another cell
      const items = [...menu.querySelectorAll("button")].filter((b) => !b.disabled && !b.hidden);
      const at = items.indexOf(document.activeElement);
      const step = e.key === "ArrowDown" ? 1 : -1;
      items[(at + step + items.length) % items.length]?.focus();
    }
  });

  // -- the form of the chosen action -----------------------------------------------------
  const inputId = `aisw-form-${Math.random().toString(36).slice(2, 8)}`;
  const formLabel = h("label", { class: "aisw-form-label", for: inputId });
  const formInput = h("input", { type: "text", class: "aisw-field aisw-form-input", id: inputId });
  const formOk = h("button", { class: "aisw-btn aisw-primary aisw-form-ok" });
  const formCancel = h("button", { class: "aisw-btn aisw-form-cancel", text: "Cancel" });
  const form = h("div", {
    class: "aisw-row aisw-form", role: "group", hidden: true, "data-lm-suppress-shortcuts": "true",
  }, [
    formLabel, formInput, formOk, formCancel,
  ]);
  let current = null;
  // "Export as ▾": the dataset formats (exportas.js); "Send to labelling…": a Label
  // Studio project made from the images (sendlab.js). One form is open at a time.
  const exportAs = createExportAs({ send, count, onOpen: () => (closeForm(), sendLab.close()) });
  const sendLab = createSendLab({ send, count, onOpen: () => (closeForm(), exportAs.close()) });
  function openForm(action) {
    closeMenu();
    exportAs.close();
    sendLab.close();
    current = action;
    el.dataset.action = action.key;
    formInput.value = ""; // old text never stays in an action's field
    formInput.hidden = !action.field;
    formInput.placeholder = action.placeholder || "";
    formOk.textContent = action.ok;
    formOk.classList.toggle("aisw-danger", Boolean(action.danger));
    formOk.classList.toggle("aisw-primary", !action.danger);
    formOk.disabled = false;
    form.hidden = false;
    updateForm();
    (action.field ? formInput : formOk).focus();
  }
  function updateForm() {
    if (current) formLabel.textContent = current.label((current.count || count)());
  }
  function closeForm() {
    current = null;
    delete el.dataset.action;
    form.hidden = true;
    formInput.value = "";
  }
  function submit() {
    const a = current;
    if (!a) return;
    const fields = { count: (a.count || count)() };
    if (a.field) {
      const value = formInput.value.trim();
      if (!value) {
        formInput.focus();
        return;
      }
      fields[a.field] = value;
    }
    formOk.disabled = true;
    send(a.request, fields, (reply) => {
      formOk.disabled = false;
      if (reply.ok && current === a) closeForm();
    });
  }
  formOk.addEventListener("click", submit);
  formCancel.addEventListener("click", closeForm);
  formInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") submit();
    if (e.key === "Escape") closeForm();
  });

  // -- header, saved collections, message with Undo -------------------------------------
  const header = h("div", { class: "aisw-result-header", role: "heading", "aria-level": "2" });
  const savedId = `aisw-saved-${Math.random().toString(36).slice(2, 8)}`;
  const saved = h("select", { class: "aisw-saved", id: savedId });
  const openBtn = h("button", {
    class: "aisw-btn aisw-open",
    text: "Open",
    on: { click: () => saved.value && send(Request.OPEN, { name: saved.value }) },
  });
  const undoBtn = h("button", {
    class: "aisw-btn aisw-undo",
    hidden: true,
    on: { click: () => send(Request.UNDO_DELETE) },
  });
  const messageRow = h("div", { class: "aisw-row aisw-message-row" }, [message, undoBtn]);

  // -- duplicates: every copy but the kept one of each group --------------------------------
  const dupTagId = `aisw-duptag-${Math.random().toString(36).slice(2, 8)}`;
  const dupTag = h("input", {
    type: "text", value: "duplicate", class: "aisw-field aisw-dup-tag", id: dupTagId,
  });
  const dupText = h("span", { class: "aisw-muted aisw-dup-summary" });
  const trashAll = {
    key: "trash-copies", item: "Trash all proposed copies…", request: Request.DELETE_ALL_BUT_BEST,
    ok: "Move to trash", danger: true, count: () => model.get("extra_copies"),
    label: (n) => `Move ${plural(n, "copy", "copies")} to the project's trash (every copy but the kept one of each group)? You can undo it.`,
  };
  const dupRow = h("div", { class: "aisw-row aisw-dup-actions", hidden: true }, [
    dupText,
    h("span", { class: "aisw-spacer" }),
    h("span", { class: "aisw-field-wrap" }, [
      h("label", { class: "aisw-field-label", for: dupTagId, text: "Tag for the copies" }), dupTag,
    ]),
    h("button", {
      class: "aisw-btn aisw-tag-but-best",
      text: "Tag all but the kept",
      on: { click: () => dupTag.value.trim() && send(Request.TAG_ALL_BUT_BEST, { tag: dupTag.value.trim() }) },
    }),
    h("button", {
      class: "aisw-btn aisw-delete-but-best",
      text: "Trash all proposed copies…",
      on: { click: () => openForm(trashAll) },
    }),
  ]);

  const refineBtn = h("button", {
    class: "aisw-btn aisw-refine",
    on: { click: () => send(Request.REFINE, {}) },
  });
  function updateRefine() {
    const [up, down] = [model.get("n_up"), model.get("n_down")];
    refineBtn.textContent = `Refine (${up}👍 ${down}👎)`;
    refineBtn.disabled = up === 0;
    refineBtn.title = up === 0
      ? "Mark at least one image 👍 (key + on a card) to refine"
      : "Rank the project again by what you marked 👍 and 👎; the marks are kept for the next round";
  }
  model.on("change:n_up change:n_down", updateRefine);
  updateRefine();

  el.append(
    h("div", { class: "aisw-row aisw-result-bar" }, [
      header,
      refineBtn,
      h("span", { class: "aisw-spacer" }),
      h("span", { class: "aisw-result-actions" }, [ // one block: they wrap together
        h("span", { class: "aisw-group" }, [
          h("label", { class: "aisw-field-label", for: savedId, text: "Saved" }), saved, openBtn,
        ]),
        h("span", { class: "aisw-menu-wrap" }, [exportAs.button, exportAs.menu]),
        h("span", { class: "aisw-menu-wrap" }, [menuBtn, menu]),
      ]),
    ]),
    form,
    exportAs.form,
    sendLab.form,
    messageRow,
    dupRow,
  );

  // -- model → DOM ------------------------------------------------------------------------
  function updateCounts() {
    const sel = selected();
    const hidden = model.get("n_hidden");
    const shown = model.get("n_shown");
    menuBtn.textContent = sel
      ? `With ${sel} selected${hidden ? ` (${hidden} hidden)` : ""} ▾`
      : `All ${shown} shown ▾`;
    menuBtn.disabled = count() === 0;
    if (menuBtn.disabled) closeMenu();
    similarItem.disabled = sel === 0;
    similarItem.title = sel ? "" : "Select example images first";
    dropItem.hidden = hidden === 0;
    dropItem.textContent = `Drop the ${hidden} hidden from the selection`;
    updateForm();
    exportAs.update();
    sendLab.update();
  }
  function updateHeader() {
    header.textContent = model.get("header");
    if (current && current !== trashAll) closeForm(); // another result: start afresh
  }
  function updateDup() {
    const n = model.get("extra_copies");
    dupRow.hidden = n === 0;
    dupText.textContent = `${plural(n, "copy", "copies")} proposed for the trash; the kept copy of each group is marked (change it in Compare)`;
    if (n === 0 && current === trashAll) closeForm();
    updateForm();
  }
  function updateSaved() {
    const now = saved.value;
    clear(saved);
    saved.append(h("option", { value: "", text: "saved collections…" }));
    for (const name of model.get("collections")) saved.append(h("option", { value: name, text: name }));
    saved.value = model.get("collections").includes(now) ? now : "";
  }
  function updateMessage() {
    showMessage(message, model.get("message"), model.get("message_kind"));
    const undo = model.get("undo");
    undoBtn.hidden = !undo;
    undoBtn.textContent = undo || "Undo";
  }
  model.on("change:n_selected change:n_hidden change:n_shown", updateCounts);
  model.on("change:header", updateHeader);
  model.on("change:extra_copies", updateDup);
  model.on("change:collections", updateSaved);
  model.on("change:message change:message_kind change:undo", updateMessage);
  updateCounts();
  updateHeader();
  updateDup();
  updateSaved();
  updateMessage();
  return () => {
    document.removeEventListener("click", onOutside, true);
    exportAs.destroy();
  };
}

export default { render };
