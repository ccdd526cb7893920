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

// src/exportas.js
var FORMATS = [
  ["coco", "COCO", "a COCO JSON file (boxes when labelled)", "e.g. exports/night-coco.json"],
  ["yolo", "YOLO", "a new folder: data.yaml, images/ (copies), labels/", "e.g. exports/night-yolo"],
  ["cvat", "CVAT", "a zip of annotations.xml (CVAT for images 1.1)", "e.g. exports/night-cvat.zip"],
  ["labelstudio", "Label Studio", "a tasks JSON file (images served by local-files storage)", "e.g. exports/night-tasks.json"],
  ["imagefolder", "Hugging Face imagefolder", "a new folder: metadata.csv and the images (copies)", "e.g. exports/night-hf"],
  ["fiftyone", "FiftyOne", "a new folder: data/ (copies) and labels.json", "e.g. exports/night-fiftyone"],
  ["csv", "CSV manifest", "one CSV file: path, score, tags, labels", "e.g. exports/night.csv"],
  ["jsonl", "JSONL manifest", "one JSON Lines file: path, score, tags, labels", "e.g. exports/night.jsonl"]
];
function createExportAs({ send, count, onOpen }) {
  const plural3 = (n) => `${n} ${n === 1 ? "image" : "images"}`;
  const button = h("button", {
    class: "aisw-btn aisw-export-btn",
    text: "Export as \u25BE",
    "aria-haspopup": "menu",
    "aria-expanded": "false"
  });
  const menu = h("div", { class: "aisw-export-menu", role: "menu", hidden: true, "data-lm-suppress-shortcuts": "true" });
  const pathId = `aisw-export-${Math.random().toString(36).slice(2, 8)}`;
  const label = h("label", { class: "aisw-export-label", for: pathId });
  const path = h("input", { type: "text", class: "aisw-field aisw-export-path", id: pathId, maxlength: "4096" });
  const what = h("span", { class: "aisw-muted aisw-export-what" });
  const ok = h("button", { class: "aisw-btn aisw-primary aisw-export-ok", text: "Export" });
  const cancel = h("button", { class: "aisw-btn aisw-export-cancel", text: "Cancel" });
  const form = h("div", { class: "aisw-row aisw-export-form", role: "group", hidden: true, "data-lm-suppress-shortcuts": "true" }, [
    label,
    path,
    ok,
    cancel,
    what
  ]);
  let format = null;
  const toggleMenu = (on) => {
    menu.hidden = !on;
    button.setAttribute("aria-expanded", String(on));
    if (on) menu.querySelector("button")?.focus();
  };
  for (const [key, name, desc, hint] of FORMATS) {
    menu.append(h("button", {
      class: "aisw-menu-item aisw-export-item",
      role: "menuitem",
      text: name,
      title: desc,
      dataset: { format: key },
      on: { click: () => open(key, name, desc, hint) }
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
    path.value = "";
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
    if (format) label.textContent = `Export ${plural3(count())} as ${format.name} to`;
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

// src/sendlab.js
var plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
function createSendLab({ send, count, onOpen }) {
  const uid = Math.random().toString(36).slice(2, 8);
  const field = (key2, text, input, hint) => {
    input.id = `aisw-sl-${key2}-${uid}`;
    input.classList.add("aisw-field", `aisw-sl-${key2}`);
    return h("span", { class: `aisw-sl-field aisw-sl-field-${key2}` }, [
      h("label", { class: "aisw-field-label", for: input.id, text }),
      input,
      hint ? h("span", { class: "aisw-muted aisw-sl-hint", text: hint }) : null
    ]);
  };
  const option = (value, text) => h("option", { value, text });
  const url = h("input", { type: "text", maxlength: "2048", spellcheck: "false", placeholder: "http://localhost:8080" });
  const title = h("input", { type: "text", maxlength: "50" });
  const labels = h("input", { type: "text", maxlength: "10000", placeholder: "e.g. car, truck" });
  const kind = h("select", {}, [
    option(LabelKind.CHOICES, "Choices: one class per image"),
    option(LabelKind.BOXES, "Boxes: draw and label boxes")
  ]);
  const storage = h("select", {}, [
    option(Storage.UPLOAD, "Upload the images to the server"),
    option(Storage.LOCAL, "Local files: Label Studio serves them")
  ]);
  const root = h("input", { type: "text", maxlength: "4096", spellcheck: "false", placeholder: "the folder Label Studio serves" });
  const key = h("input", { type: "password", autocomplete: "new-password", maxlength: "4096" });
  const rootField = field("root", "Document root (local files)", root);
  const keyField = field("key", "API key", key);
  const keyHint = h("span", { class: "aisw-muted aisw-sl-hint" });
  keyField.append(keyHint);
  const fields = h("div", { class: "aisw-sl-fields" }, [
    field("url", "Label Studio URL", url),
    field("title", "Project title", title),
    field("labels", "Labels (comma separated)", labels),
    field("kind", "Kind", kind),
    field("storage", "Images", storage),
    rootField,
    keyField
  ]);
  const heading = h("span", { class: "aisw-sl-heading" });
  const ok = h("button", { class: "aisw-btn aisw-primary aisw-sl-send" });
  const cancel = h("button", { class: "aisw-btn aisw-sl-cancel", text: "Cancel" });
  const spinner = h("span", { class: "aisw-spinner", "aria-hidden": "true" });
  const statusText = h("span", { class: "aisw-sl-status-text" });
  const link = h("a", { class: "aisw-sl-link", target: "_blank", rel: "noopener noreferrer" });
  const status = h("span", { class: "aisw-sl-status", role: "status", hidden: true }, [spinner, statusText, link]);
  const form = h("div", {
    class: "aisw-sendlab-form",
    role: "group",
    hidden: true,
    "data-lm-suppress-shortcuts": "true"
  }, [
    heading,
    fields,
    h("div", { class: "aisw-row aisw-sl-buttons" }, [ok, cancel, status])
  ]);
  form.setAttribute("aria-label", "Send to labelling");
  let state = "closed";
  function setState(next) {
    state = next;
    form.dataset.state = next;
    const busy = next === "sending";
    for (const input of [url, title, labels, kind, storage, root, key]) input.disabled = busy;
    fields.hidden = next === "done";
    ok.hidden = next === "done";
    ok.disabled = busy;
    cancel.disabled = busy;
    cancel.textContent = next === "done" ? "Close" : "Cancel";
    spinner.hidden = !busy;
    status.hidden = next === "editing" || next === "closed";
    form.hidden = next === "closed";
    update();
  }
  function showRoot() {
    rootField.hidden = storage.value !== Storage.LOCAL;
  }
  storage.addEventListener("change", showRoot);
  function open() {
    onOpen();
    send(Request.LABELLING_FORM, {}, (reply) => {
      if (!reply.ok) return;
      url.value = reply.url || "";
      title.value = reply.project || "";
      labels.value = (reply.labels || []).join(", ");
      storage.value = reply.storage === Storage.LOCAL ? Storage.LOCAL : Storage.UPLOAD;
      root.value = reply.root || "";
      key.value = "";
      key.placeholder = reply.key_from_env ? "empty: the kernel's LABEL_STUDIO_API_KEY" : "Account & Settings \u2192 Access Token";
      keyHint.textContent = "Used for this request only; never stored.";
      showRoot();
      setState("editing");
      (labels.value ? title : labels).focus();
    });
  }
  function close() {
    if (state === "closed") return;
    key.value = "";
    setState("closed");
  }
  function update() {
    const n = count();
    if (state !== "done") heading.textContent = `Send ${plural(n, "image", "images")} to Label Studio: one task per image`;
    ok.textContent = `Send ${plural(n, "image", "images")}`;
  }
  function submit() {
    if (state !== "editing") return;
    for (const input of [url, title, labels]) {
      if (!input.value.trim()) return input.focus();
    }
    if (storage.value === Storage.LOCAL && !root.value.trim()) return root.focus();
    const n = count();
    statusText.textContent = `Making the project and ${plural(n, "task", "tasks")}\u2026`;
    link.hidden = true;
    setState("sending");
    send(Request.SEND_TO_LABELLING, {
      url: url.value.trim(),
      project: title.value.trim(),
      labels: labels.value,
      kind: kind.value,
      storage: storage.value,
      root: root.value.trim(),
      api_key: key.value,
      count: n
    }, (reply) => {
      if (!reply.ok) {
        setState("editing");
        return;
      }
      key.value = "";
      heading.textContent = `Sent ${plural(reply.tasks, "image", "images")} to Label Studio`;
      statusText.textContent = `Project \u201C${reply.title}\u201D: ${plural(reply.tasks, "task", "tasks")}. Label them at`;
      link.textContent = reply.url;
      link.hidden = false;
      if (/^https?:\/\//i.test(reply.url)) link.href = reply.url;
      else link.removeAttribute("href");
      setState("done");
    });
  }
  ok.addEventListener("click", submit);
  cancel.addEventListener("click", close);
  form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target instanceof HTMLInputElement) submit();
    if (e.key === "Escape" && state !== "sending") close();
  });
  return { form, open, close, update };
}

// src/actions.js
var plural2 = (n, one, many) => `${n} ${n === 1 ? one : many}`;
function render({ model, el }) {
  el.classList.add("aisw", "aisw-actions");
  const message = h("span", { class: "aisw-message", hidden: true });
  const send = requester(model, message);
  const selected = () => model.get("n_selected");
  const count = () => selected() || model.get("n_shown");
  const ACTIONS = [
    {
      key: "save",
      item: "Save as collection\u2026",
      request: Request.SAVE,
      field: "name",
      placeholder: "collection name",
      ok: "Save",
      label: (n) => `Save ${plural2(n, "image", "images")} as the collection`
    },
    {
      key: "tag",
      item: "Tag\u2026",
      request: Request.TAG,
      field: "tag",
      placeholder: "tag",
      ok: "Tag",
      label: (n) => `Add a tag to ${plural2(n, "image", "images")}:`
    },
    {
      key: "untag",
      item: "Remove a tag\u2026",
      request: Request.UNTAG,
      field: "tag",
      placeholder: "tag",
      ok: "Remove tag",
      label: (n) => `Remove a tag from ${plural2(n, "image", "images")}:`
    },
    {
      key: "copy",
      item: "Copy to folder\u2026",
      request: Request.COPY,
      field: "dir",
      placeholder: "folder",
      ok: "Copy",
      label: (n) => `Copy ${plural2(n, "file", "files")} into the folder`
    },
    {
      key: "move",
      item: "Move to folder\u2026",
      request: Request.MOVE,
      field: "dir",
      placeholder: "folder",
      ok: "Move",
      label: (n) => `Move ${plural2(n, "file", "files")} into the folder`
    },
    {
      key: "delete",
      item: "Delete (move to trash)\u2026",
      request: Request.DELETE,
      ok: "Move to trash",
      danger: true,
      label: (n) => `Move ${plural2(n, "file", "files")} to the project's trash? You can undo it.`
    },
    {
      key: "export",
      item: "Export manifest\u2026",
      request: Request.EXPORT,
      field: "path",
      placeholder: "e.g. manifest.csv",
      ok: "Export",
      label: (n) => `Export ${plural2(n, "row", "rows")} (path, score, tags) to`
    }
  ];
  const menuBtn = h("button", {
    class: "aisw-btn aisw-primary aisw-menu-btn",
    "aria-haspopup": "menu",
    "aria-expanded": "false"
  });
  const menu = h("div", {
    class: "aisw-menu",
    role: "menu",
    hidden: true,
    "data-lm-suppress-shortcuts": "true"
  });
  const item = (text, cls, fn) => h("button", { class: `aisw-menu-item ${cls}`, role: "menuitem", text, on: { click: fn } });
  for (const a of ACTIONS) menu.append(item(a.item, `aisw-do-${a.key}`, () => openForm(a)));
  menu.append(item("Send to labelling\u2026", "aisw-do-sendlab", () => {
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
  menuBtn.addEventListener("click", () => menu.hidden ? openMenu() : closeMenu());
  const onOutside = (e) => {
    if (!menu.hidden && !menuBtn.contains(e.target) && !menu.contains(e.target)) closeMenu();
  };
  document.addEventListener("click", onOutside, true);
  menu.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      closeMenu();
      menuBtn.focus();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const items = [...menu.querySelectorAll("button")].filter((b) => !b.disabled && !b.hidden);
      const at = items.indexOf(document.activeElement);
      const step = e.key === "ArrowDown" ? 1 : -1;
      items[(at + step + items.length) % items.length]?.focus();
    }
  });
  const inputId = `aisw-form-${Math.random().toString(36).slice(2, 8)}`;
  const formLabel = h("label", { class: "aisw-form-label", for: inputId });
  const formInput = h("input", { type: "text", class: "aisw-field aisw-form-input", id: inputId });
  const formOk = h("button", { class: "aisw-btn aisw-primary aisw-form-ok" });
  const formCancel = h("button", { class: "aisw-btn aisw-form-cancel", text: "Cancel" });
  const form = h("div", {
    class: "aisw-row aisw-form",
    role: "group",
    hidden: true,
    "data-lm-suppress-shortcuts": "true"
  }, [
    formLabel,
    formInput,
    formOk,
    formCancel
  ]);
  let current = null;
  const exportAs = createExportAs({ send, count, onOpen: () => (closeForm(), sendLab.close()) });
  const sendLab = createSendLab({ send, count, onOpen: () => (closeForm(), exportAs.close()) });
  function openForm(action) {
    closeMenu();
    exportAs.close();
    sendLab.close();
    current = action;
    el.dataset.action = action.key;
    formInput.value = "";
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
  const header = h("div", { class: "aisw-result-header", role: "heading", "aria-level": "2" });
  const savedId = `aisw-saved-${Math.random().toString(36).slice(2, 8)}`;
  const saved = h("select", { class: "aisw-saved", id: savedId });
  const openBtn = h("button", {
    class: "aisw-btn aisw-open",
    text: "Open",
    on: { click: () => saved.value && send(Request.OPEN, { name: saved.value }) }
  });
  const undoBtn = h("button", {
    class: "aisw-btn aisw-undo",
    hidden: true,
    on: { click: () => send(Request.UNDO_DELETE) }
  });
  const messageRow = h("div", { class: "aisw-row aisw-message-row" }, [message, undoBtn]);
  const dupTagId = `aisw-duptag-${Math.random().toString(36).slice(2, 8)}`;
  const dupTag = h("input", {
    type: "text",
    value: "duplicate",
    class: "aisw-field aisw-dup-tag",
    id: dupTagId
  });
  const dupText = h("span", { class: "aisw-muted aisw-dup-summary" });
  const trashAll = {
    key: "trash-copies",
    item: "Trash all proposed copies\u2026",
    request: Request.DELETE_ALL_BUT_BEST,
    ok: "Move to trash",
    danger: true,
    count: () => model.get("extra_copies"),
    label: (n) => `Move ${plural2(n, "copy", "copies")} to the project's trash (every copy but the kept one of each group)? You can undo it.`
  };
  const dupRow = h("div", { class: "aisw-row aisw-dup-actions", hidden: true }, [
    dupText,
    h("span", { class: "aisw-spacer" }),
    h("span", { class: "aisw-field-wrap" }, [
      h("label", { class: "aisw-field-label", for: dupTagId, text: "Tag for the copies" }),
      dupTag
    ]),
    h("button", {
      class: "aisw-btn aisw-tag-but-best",
      text: "Tag all but the kept",
      on: { click: () => dupTag.value.trim() && send(Request.TAG_ALL_BUT_BEST, { tag: dupTag.value.trim() }) }
    }),
    h("button", {
      class: "aisw-btn aisw-delete-but-best",
      text: "Trash all proposed copies\u2026",
      on: { click: () => openForm(trashAll) }
    })
  ]);
  const refineBtn = h("button", {
    class: "aisw-btn aisw-refine",
    on: { click: () => send(Request.REFINE, {}) }
  });
  function updateRefine() {
    const [up, down] = [model.get("n_up"), model.get("n_down")];
    refineBtn.textContent = `Refine (${up}\u{1F44D} ${down}\u{1F44E})`;
    refineBtn.disabled = up === 0;
    refineBtn.title = up === 0 ? "Mark at least one image \u{1F44D} (key + on a card) to refine" : "Rank the project again by what you marked \u{1F44D} and \u{1F44E}; the marks are kept for the next round";
  }
  model.on("change:n_up change:n_down", updateRefine);
  updateRefine();
  el.append(
    h("div", { class: "aisw-row aisw-result-bar" }, [
      header,
      refineBtn,
      h("span", { class: "aisw-spacer" }),
      h("span", { class: "aisw-result-actions" }, [
        // one block: they wrap together
        h("span", { class: "aisw-group" }, [
          h("label", { class: "aisw-field-label", for: savedId, text: "Saved" }),
          saved,
          openBtn
        ]),
        h("span", { class: "aisw-menu-wrap" }, [exportAs.button, exportAs.menu]),
        h("span", { class: "aisw-menu-wrap" }, [menuBtn, menu])
      ])
    ]),
    form,
    exportAs.form,
    sendLab.form,
    messageRow,
    dupRow
  );
  function updateCounts() {
    const sel = selected();
    const hidden = model.get("n_hidden");
    const shown = model.get("n_shown");
    menuBtn.textContent = sel ? `With ${sel} selected${hidden ? ` (${hidden} hidden)` : ""} \u25BE` : `All ${shown} shown \u25BE`;
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
    if (current && current !== trashAll) closeForm();
  }
  function updateDup() {
    const n = model.get("extra_copies");
    dupRow.hidden = n === 0;
    dupText.textContent = `${plural2(n, "copy", "copies")} proposed for the trash; the kept copy of each group is marked (change it in Compare)`;
    if (n === 0 && current === trashAll) closeForm();
    updateForm();
  }
  function updateSaved() {
    const now = saved.value;
    clear(saved);
    saved.append(h("option", { value: "", text: "saved collections\u2026" }));
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
var actions_default = { render };
export {
  actions_default as default
};
