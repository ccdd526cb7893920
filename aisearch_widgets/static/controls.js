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
var ISSUES = ["blurry", "dark", "bright", "low_information", "grayscale", "odd_size", "odd_aspect"];
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
var BACKGROUND = ["refine", "search_diverse", "search_duplicates", "search_outliers", "search_prompt", "search_quality", "search_similar", "send_to_labelling", "similar_one", "similar_selected", "toggle_enabled"];

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
function intValue(input, fallback) {
  const v = Number.parseInt(input.value, 10);
  return Number.isFinite(v) ? v : fallback;
}

// src/scope.js
var KINDS = [
  ["tag", "Tag"],
  ["folder", "Folder"],
  ["date", "Date range"],
  ["size", "Least size"],
  ["quality", "Quality issue"]
];
var issueName = (i) => i.replace(/_/g, " ");
function createScopeBar({ model, send, field: field2 }) {
  const within = h("select", { class: "aisw-scope-within" });
  const count = h("span", { class: "aisw-muted aisw-scope-count", "aria-live": "polite" });
  const chips = h("span", { class: "aisw-scope-chips", role: "list", "aria-label": "Filters" });
  const addSel = h("select", { class: "aisw-scope-add" }, [
    h("option", { value: "", text: "Add a filter\u2026" }),
    ...KINDS.map(([k, text]) => h("option", { value: k, text }))
  ]);
  const editor = h("form", { class: "aisw-row aisw-scope-editor", hidden: true, "data-lm-suppress-shortcuts": "true" });
  const bar = h("div", { class: "aisw-scope", dataset: { scope: "" } }, [
    h("div", { class: "aisw-row" }, [field2("Search in", within), count, chips, field2("Filter", addSel)]),
    editor
  ]);
  let options = null;
  const scope = () => model.get("scope") || {};
  const plain = () => (scope().filters || []).map(({ label, ...f }) => f);
  const place = () => {
    const s = scope();
    return [s.within || "project", s.within === "results" ? "kept" : s.name || ""];
  };
  function setScope(w, name, filters, then = () => {
  }) {
    send(Request.SET_SCOPE, { within: w, name, filters }, (reply) => {
      if (!reply.ok) render2();
      then(reply);
    });
  }
  within.addEventListener("change", () => {
    const v = within.value;
    if (v.startsWith("c:")) setScope("collection", v.slice(2), plain());
    else setScope(v, "", plain());
  });
  function render2() {
    const s = scope();
    clear(within);
    within.append(h("option", { value: "project", text: "Whole project" }));
    for (const name of model.get("collections") || []) {
      within.append(h("option", { value: `c:${name}`, text: `Collection \u2018${name}\u2019` }));
    }
    within.append(h("option", {
      value: "results",
      text: s.within === "results" ? `Results of ${s.results_title}` : "The results shown now"
    }));
    within.value = s.within === "collection" ? `c:${s.name}` : s.within || "project";
    clear(chips);
    for (const [i, f] of (s.filters || []).entries()) {
      const rest = plain().filter((_, j) => j !== i);
      chips.append(h("span", { class: "aisw-chip aisw-scope-chip", role: "listitem", dataset: { kind: f.kind } }, [
        h("span", { class: "aisw-chip-name", text: f.label }),
        h("button", {
          type: "button",
          class: "aisw-chip-x",
          text: "\xD7",
          title: "Remove this filter",
          "aria-label": `Remove the filter ${f.label}`,
          on: { click: () => setScope(...place(), rest) }
        })
      ]));
    }
    const narrowed = s.within && (s.within !== "project" || (s.filters || []).length);
    count.textContent = narrowed && s.n !== null && s.n !== void 0 ? `${s.n} ${s.n === 1 ? "image" : "images"} in scope` : "";
    bar.classList.toggle("aisw-scope-on", Boolean(narrowed));
  }
  function input(props) {
    return h("input", { type: "text", maxlength: "200", ...props });
  }
  function hints(values) {
    const list = h("datalist", { id: `aisw-hints-${Math.random().toString(36).slice(2, 8)}` });
    for (const v of values) list.append(h("option", { value: v }));
    return list;
  }
  function openEditor(kind) {
    clear(editor);
    let read;
    const o = options || { tags: [], folders: [], issues: ISSUES };
    if (kind === "tag") {
      const list = hints(o.tags);
      const tag = input({ class: "aisw-scope-tag", list: list.id });
      editor.append(field2("Tag", tag), list);
      read = () => ({ kind, tag: tag.value });
    } else if (kind === "folder") {
      const list = hints(o.folders);
      const folder = input({ class: "aisw-scope-folder", list: list.id, placeholder: "e.g. line3/" });
      editor.append(field2("Folder (in its source)", folder), list);
      read = () => ({ kind, folder: folder.value });
    } else if (kind === "date") {
      const by = h("select", { class: "aisw-scope-by" }, [
        h("option", { value: "taken", text: "taken (camera)" }),
        h("option", { value: "modified", text: "file modified" })
      ]);
      const from = h("input", { type: "date", class: "aisw-scope-from" });
      const to = h("input", { type: "date", class: "aisw-scope-to" });
      editor.append(field2("Date", by), field2("From", from), field2("To", to));
      read = () => ({ kind, by: by.value, from: from.value, to: to.value });
    } else if (kind === "size") {
      const w = h("input", { type: "number", min: "0", step: "1", class: "aisw-scope-width" });
      const ht = h("input", { type: "number", min: "0", step: "1", class: "aisw-scope-height" });
      editor.append(field2("Width at least (px)", w), field2("Height at least (px)", ht));
      const px = (el) => el.value === "" ? 0 : Number.parseInt(el.value, 10);
      read = () => ({ kind, min_width: px(w), min_height: px(ht) });
    } else {
      const issue = h("select", { class: "aisw-scope-issue" }, o.issues.map((i) => h("option", { value: i, text: issueName(i) })));
      editor.append(field2("Issue", issue));
      read = () => ({ kind, issue: issue.value });
    }
    editor.append(
      h("button", { type: "submit", class: "aisw-btn aisw-primary aisw-scope-apply", text: "Add filter" }),
      h("button", { type: "button", class: "aisw-btn", text: "Cancel", on: { click: closeEditor } })
    );
    editor.onsubmit = (e) => {
      e.preventDefault();
      setScope(...place(), [...plain(), read()], (reply) => reply.ok && closeEditor());
    };
    editor.hidden = false;
    const first = editor.querySelector("input, select");
    if (first) first.focus();
  }
  function closeEditor() {
    editor.hidden = true;
    clear(editor);
    addSel.value = "";
  }
  addSel.addEventListener("change", () => {
    const kind = addSel.value;
    if (!kind) return closeEditor();
    if (options) return openEditor(kind);
    send(Request.SCOPE_OPTIONS, {}, (reply) => {
      if (reply.ok) options = { tags: reply.tags || [], folders: reply.folders || [], issues: reply.issues || ISSUES };
      if (addSel.value === kind) openEditor(kind);
    });
  });
  editor.addEventListener("keydown", (e) => {
    e.stopPropagation();
    if (e.key === "Escape") closeEditor();
  });
  model.on("change:scope change:collections", render2);
  render2();
  return bar;
}

// src/controls.js
var MODES = [
  [Mode.PROMPT, "Prompt"],
  [Mode.DIVERSE, "Diverse"],
  [Mode.SIMILAR, "Similar"],
  [Mode.DUPLICATES, "Duplicates"],
  [Mode.OUTLIERS, "Outliers"]
];
var uid = 0;
function numberInput(value, min, title, cls) {
  return h("input", { type: "number", min: String(min), step: "1", value: String(value), title, class: cls });
}
function field(text, input, cls = "") {
  if (!input.id) input.id = `aisw-f${++uid}-${Math.random().toString(36).slice(2, 6)}`;
  return h("span", { class: `aisw-field-wrap ${cls}` }, [
    h("label", { class: "aisw-field-label", for: input.id, text }),
    input
  ]);
}
var num = (n) => Number(n).toLocaleString("en-US");
function render({ model, el }) {
  el.classList.add("aisw", "aisw-controls");
  const message = h("div", { class: "aisw-message", hidden: true });
  const request = requester(model, message);
  const spinnerText = h("span", { class: "aisw-busy-text" });
  const cancelBtn = h("button", {
    class: "aisw-btn aisw-cancel",
    text: "Cancel",
    title: "Stop this: its result is not shown",
    on: { click: () => request(Request.CANCEL) }
  });
  const busyBox = h("span", { class: "aisw-busy-box", role: "status", hidden: true }, [
    h("span", { class: "aisw-spinner", "aria-hidden": "true" }),
    spinnerText,
    cancelBtn
  ]);
  const pending = /* @__PURE__ */ new Map();
  let since = 0;
  let tick = null;
  const LOCAL = {
    [Request.SEARCH_PROMPT]: "Searching",
    [Request.SEARCH_DIVERSE]: "Sampling",
    [Request.SEARCH_SIMILAR]: "Searching similar images",
    [Request.SEARCH_DUPLICATES]: "Finding duplicates",
    [Request.SEARCH_OUTLIERS]: "Finding outliers",
    [Request.SEARCH_QUALITY]: "Finding quality issues"
  };
  function updateBusy() {
    const labels = [...pending.values()];
    const label = model.get("busy_label") || labels[labels.length - 1] || "";
    const busy = Boolean(label);
    if (busy && !since) since = performance.now();
    if (!busy) since = 0;
    busyBox.hidden = !busy;
    el.classList.toggle("aisw-busy", busy);
    cancelBtn.hidden = !busy || label === "Enabling" || label === "Disabling" || label === "Drawing the map";
    if (busy) {
      const s = (performance.now() - since) / 1e3;
      spinnerText.textContent = s >= 1 ? `${label}\u2026 ${s.toFixed(0)} s` : `${label}\u2026`;
      if (!tick) tick = setInterval(updateBusy, 250);
    } else if (tick) {
      clearInterval(tick);
      tick = null;
    }
    updateButtons();
  }
  const send = (type, fields = {}, onReply = () => {
  }) => {
    if (!BACKGROUND.includes(type)) return request(type, fields, onReply);
    const rid = request(type, fields, (reply, buffers) => {
      pending.delete(rid);
      updateBusy();
      onReply(reply, buffers);
    });
    const toggle = model.get("enabled") ? "Disabling" : "Enabling";
    const loading = type === Request.SEARCH_PROMPT && model.get("model_loading");
    const label = loading ? "Loading the model" : LOCAL[type] || "Working";
    pending.set(rid, type === Request.TOGGLE_ENABLED ? toggle : label);
    updateBusy();
    return rid;
  };
  const title = h("span", { class: "aisw-title" });
  const modelName = h("span", { class: "aisw-muted aisw-model" });
  const statusText = h("span", { class: "aisw-status", "aria-live": "polite" });
  const bar = h("progress", { class: "aisw-progress", max: "1", value: "0" });
  const enableBtn = h("button", {
    class: "aisw-btn",
    on: { click: () => send(Request.TOGGLE_ENABLED) }
  });
  const updateBtn = h("button", {
    class: "aisw-btn",
    text: "Update now",
    title: "Embed new and changed images now",
    on: { click: () => send(Request.UPDATE_NOW) }
  });
  const header = h("div", { class: "aisw-header" }, [
    h("span", { class: "aisw-group aisw-ident" }, [title, modelName]),
    h("span", { class: "aisw-group aisw-sync" }, [statusText, bar]),
    h("span", { class: "aisw-spacer" }),
    h("span", { class: "aisw-group" }, [enableBtn, updateBtn])
  ]);
  const notice = h("div", { class: "aisw-notice", hidden: true });
  const tabs = h("div", { class: "aisw-tabs", role: "tablist" });
  const tabButtons = {};
  for (const [mode, label] of MODES) {
    const b = h("button", {
      class: "aisw-tab",
      role: "tab",
      text: label,
      dataset: { mode },
      on: {
        click: () => {
          model.set("mode", mode);
          model.save_changes();
        }
      }
    });
    tabButtons[mode] = b;
    tabs.append(b);
  }
  const promptInput = h("input", {
    type: "text",
    class: "aisw-prompt",
    placeholder: "Describe what to find, e.g. \u201Ca red circle on a dark background\u201D",
    "aria-label": "Search prompt"
  });
  const limitInput = numberInput(model.get("limit"), 1, "Result limit", "aisw-limit");
  const searchBtn = h("button", { class: "aisw-btn aisw-primary", text: "Search" });
  const runPrompt = () => send(Request.SEARCH_PROMPT, {
    prompt: promptInput.value,
    limit: intValue(limitInput, model.get("limit"))
  });
  promptInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      runPrompt();
    }
  });
  searchBtn.addEventListener("click", runPrompt);
  const promptRow = h("div", { class: "aisw-row", dataset: { pane: "prompt" } }, [
    field("Find", promptInput, "aisw-grow"),
    field("Limit", limitInput),
    searchBtn
  ]);
  const methodSel = h("select", { class: "aisw-method", "aria-label": "Sampling method" }, [
    h("option", { value: Method.CENTROIDS, text: "nearest to centroid" }),
    h("option", { value: Method.RANDOM, text: "random per cluster" })
  ]);
  const nInput = numberInput(model.get("n"), 1, "Number of samples", "aisw-n");
  const clustersInput = numberInput(model.get("clusters"), 0, "Clusters (0 = as many as samples)", "aisw-clusters");
  const sampleBtn = h("button", { class: "aisw-btn aisw-primary", text: "Sample" });
  sampleBtn.addEventListener(
    "click",
    () => send(Request.SEARCH_DIVERSE, {
      n: intValue(nInput, model.get("n")),
      method: methodSel.value,
      clusters: intValue(clustersInput, 0)
    })
  );
  const diverseRow = h("div", { class: "aisw-row", dataset: { pane: "diverse" } }, [
    field("Method", methodSel),
    field("Samples", nInput),
    field("Clusters", clustersInput),
    sampleBtn
  ]);
  const chips = h("div", { class: "aisw-chips" });
  const simLimit = numberInput(model.get("limit"), 1, "Result limit", "aisw-limit");
  const simBtn = h("button", { class: "aisw-btn aisw-primary", text: "Search similar" });
  simBtn.addEventListener(
    "click",
    () => send(Request.SEARCH_SIMILAR, {
      ids: model.get("references").map((r) => r.id),
      limit: intValue(simLimit, model.get("limit"))
    })
  );
  const similarRow = h("div", { class: "aisw-row", dataset: { pane: "similar" } }, [
    chips,
    field("Limit", simLimit),
    simBtn
  ]);
  const dupBtn = h("button", {
    class: "aisw-btn aisw-primary aisw-find-duplicates",
    text: "Find duplicates",
    title: "Exact copies and re-encoded, resized or lightly cropped ones",
    on: { click: () => send(Request.SEARCH_DUPLICATES) }
  });
  const duplicatesRow = h("div", { class: "aisw-row", dataset: { pane: Mode.DUPLICATES } }, [
    h("span", { class: "aisw-muted", text: "Groups of copies, biggest first. The copy proposed to keep is marked; nothing goes to the trash until you confirm a group (or all)." }),
    dupBtn
  ]);
  const outN = numberInput(model.get("limit"), 1, "How many", "aisw-limit aisw-outliers-n");
  const outKind = h("select", { class: "aisw-outliers-kind" }, [
    h("option", { value: "", text: "Unusual images (outliers)" }),
    h("option", { value: "any", text: "Quality issues: any" }),
    ...ISSUES.map((i) => h("option", { value: i, text: `Quality issue: ${i.replace(/_/g, " ")}` }))
  ]);
  const outBtn = h("button", { class: "aisw-btn aisw-primary aisw-find-outliers", text: "Find outliers" });
  const outHint = h("span", { class: "aisw-muted aisw-outliers-hint" });
  const outNField = field("How many", outN);
  function updateOutKind() {
    const issue = outKind.value;
    outBtn.textContent = issue ? "Find quality issues" : "Find outliers";
    outHint.textContent = issue ? "Images judged against this project (blur, brightness, contrast, information, size), worst first." : "The most unusual images first (broken, off-domain, rare).";
    outNField.hidden = Boolean(issue);
  }
  outKind.addEventListener("change", updateOutKind);
  outBtn.addEventListener("click", () => {
    const issue = outKind.value;
    if (issue) send(Request.SEARCH_QUALITY, { issue: issue === "any" ? "" : issue });
    else send(Request.SEARCH_OUTLIERS, { n: intValue(outN, model.get("limit")) });
  });
  updateOutKind();
  const outliersRow = h("div", { class: "aisw-row", dataset: { pane: Mode.OUTLIERS } }, [
    field("Find", outKind),
    outNField,
    outBtn,
    outHint
  ]);
  const rows = [promptRow, diverseRow, similarRow, duplicatesRow, outliersRow];
  tabs.append(h("span", { class: "aisw-spacer" }), busyBox);
  const scopeBar = createScopeBar({ model, send, field });
  el.append(header, notice, tabs, ...rows, scopeBar, message);
  function updateHeader() {
    title.textContent = model.get("project");
    modelName.textContent = model.get("model_name");
    const enabled = model.get("enabled");
    const done = model.get("done");
    const total = model.get("total");
    const failed = model.get("failed");
    const state = model.get("state");
    enableBtn.textContent = enabled ? "Disable AI search" : "Enable AI search";
    enableBtn.classList.toggle("aisw-primary", !enabled);
    let text = `${state} \xB7 ${num(done)}/${num(total)} embedded`;
    if (failed) text += ` \xB7 ${num(failed)} failed`;
    const left = model.get("eta_text");
    if (state === State.INDEXING && left) text += ` \xB7 ${left}`;
    statusText.textContent = text;
    bar.max = Math.max(total, 1);
    bar.value = Math.min(done + failed, Math.max(total, 1));
    bar.hidden = state !== State.INDEXING;
    const ready = model.get("ready");
    notice.hidden = ready;
    notice.textContent = ready ? "" : state === State.INDEXING ? "Search is unavailable while embeddings are being prepared." : "AI search is not enabled for this project yet: press \u201CEnable AI search\u201D.";
    updateButtons();
  }
  function updateButtons() {
    const busy = model.get("busy") || pending.size > 0;
    const ready = model.get("ready");
    for (const b of [searchBtn, sampleBtn, simBtn, dupBtn, outBtn]) b.disabled = !ready;
    enableBtn.disabled = busy && [...pending.values(), model.get("busy_label")].some((l) => /abl/.test(l));
  }
  function updateMode() {
    const mode = model.get("mode");
    for (const [m] of MODES) {
      tabButtons[m].setAttribute("aria-selected", String(m === mode));
      tabButtons[m].classList.toggle("aisw-active", m === mode);
    }
    for (const row of rows) row.hidden = row.dataset.pane !== mode;
  }
  function updateRefs() {
    clear(chips);
    const refs = model.get("references");
    if (!refs.length) {
      chips.append(h("span", { class: "aisw-muted", text: "Select images in the gallery to search by example." }));
    }
    for (const r of refs) {
      chips.append(
        h("span", { class: "aisw-chip", title: r.name }, [
          h("span", { class: "aisw-chip-name", text: r.name }),
          h("button", {
            class: "aisw-chip-x",
            text: "\xD7",
            title: "Remove",
            "aria-label": `Remove ${r.name}`,
            on: { click: () => send(Request.REMOVE_REFERENCE, { id: r.id }) }
          })
        ])
      );
    }
  }
  function updateMessage() {
    showMessage(message, model.get("message"), model.get("message_kind"));
  }
  function updateInputs() {
    const show = (input, value) => {
      if (document.activeElement !== input) input.value = String(value);
    };
    show(promptInput, model.get("prompt"));
    show(limitInput, model.get("limit"));
    show(simLimit, model.get("limit"));
    show(outN, model.get("limit"));
    show(nInput, model.get("n"));
    show(clustersInput, model.get("clusters"));
    methodSel.value = model.get("method");
  }
  model.on("change:project change:model_name change:enabled change:state change:done change:total change:failed change:ready change:eta_text", updateHeader);
  model.on("change:busy change:busy_label", updateBusy);
  model.on("change:mode", updateMode);
  model.on("change:references", updateRefs);
  model.on("change:message change:message_kind", updateMessage);
  model.on("change:prompt change:limit change:n change:method change:clusters", updateInputs);
  updateHeader();
  updateBusy();
  updateMode();
  updateRefs();
  updateMessage();
  updateInputs();
  return () => tick && clearInterval(tick);
}
var controls_default = { render };
export {
  controls_default as default
};
