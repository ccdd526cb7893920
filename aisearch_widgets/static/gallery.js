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
  "FULL_RANGE": "full_range"
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
  "full_range": Object.freeze({})
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
  "full_range": "chart"
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

// src/gallery.js
function render({ model, el }) {
  el.classList.add("aisw", "aisw-gallery");
  const message = h("div", { class: "aisw-message", hidden: true });
  const send = requester(model, message);
  const urls = new BlobUrls();
  const previewUrls = new BlobUrls();
  let token = 0;
  let cards = /* @__PURE__ */ new Map();
  const countLabel = h("span", { class: "aisw-count", "aria-live": "polite" });
  const prevBtn = h("button", { class: "aisw-btn", text: "\u2039 Prev", title: "Previous page" });
  const nextBtn = h("button", { class: "aisw-btn", text: "Next \u203A", title: "Next page" });
  const selectPageBtn = h("button", { class: "aisw-btn", text: "Select page" });
  const clearBtn = h("button", { class: "aisw-btn", text: "Clear selection" });
  const viewBtn = h("button", { class: "aisw-btn aisw-view-toggle", hidden: true });
  const toolbar = h("div", { class: "aisw-toolbar" }, [
    prevBtn,
    countLabel,
    nextBtn,
    viewBtn,
    h("span", { class: "aisw-spacer" }),
    selectPageBtn,
    clearBtn
  ]);
  const grid = h("div", { class: "aisw-grid", role: "list" });
  const segBody = h("tbody");
  const segTable = h("table", { class: "aisw-segments", hidden: true }, [
    h("thead", {}, [
      h("tr", {}, ["Video", "Start", "End", "Frames", "Best score"].map((c) => h("th", { text: c })))
    ]),
    segBody
  ]);
  const empty = h("div", { class: "aisw-empty aisw-muted", text: "No results yet." });
  const overlayImg = h("img", { class: "aisw-preview", alt: "" });
  const overlayCaption = h("div", { class: "aisw-preview-caption" });
  const overlay = h("div", { class: "aisw-overlay aisw-lightbox", hidden: true, tabindex: "-1" }, [
    h("div", { class: "aisw-preview-box" }, [overlayImg, overlayCaption])
  ]);
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
  el.append(toolbar, message, grid, segTable, empty, overlay, compare);
  viewBtn.addEventListener("click", () => {
    model.set("view", model.get("view") === View.SEGMENTS ? View.GRID : View.SEGMENTS);
    model.save_changes();
  });
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
      if (s.id) row.addEventListener("click", () => send(Request.PREVIEW, { id: s.id }, showPreview));
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
  const closeOverlay = () => {
    overlay.hidden = true;
    previewUrls.revokeAll();
    overlayImg.removeAttribute("src");
  };
  overlay.addEventListener("click", closeOverlay);
  overlay.addEventListener("keydown", (e) => e.key === "Escape" && closeOverlay());
  const page = () => model.get("page");
  const pages = () => Math.max(1, Math.ceil(model.get("total") / model.get("page_size")));
  prevBtn.addEventListener("click", () => {
    if (page() > 0) {
      model.set("page", page() - 1);
      model.save_changes();
    }
  });
  nextBtn.addEventListener("click", () => {
    if (page() + 1 < pages()) {
      model.set("page", page() + 1);
      model.save_changes();
    }
  });
  clearBtn.addEventListener("click", () => {
    model.set("selected", []);
    model.save_changes();
  });
  selectPageBtn.addEventListener("click", () => {
    const sel = new Set(model.get("selected"));
    for (const it of model.get("items")) sel.add(it.id);
    model.set("selected", [...sel]);
    model.save_changes();
  });
  function toggle(id, on) {
    const sel = new Set(model.get("selected"));
    if (on) sel.add(id);
    else sel.delete(id);
    model.set("selected", [...sel]);
    model.save_changes();
  }
  function updateSelection() {
    const sel = new Set(model.get("selected"));
    for (const [id, c] of cards) {
      c.box.checked = sel.has(id);
      c.card.classList.toggle("aisw-selected", sel.has(id));
    }
    clearBtn.disabled = sel.size === 0;
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
      h("button", { class: "aisw-btn aisw-compare-btn", text: "Compare", on: { click: () => openCompare(it.group) } }),
      trash,
      confirm,
      cancel
    ]);
  }
  const compareUrls = new BlobUrls();
  let compareGroup = null;
  const kb = (b) => b === null || b === void 0 ? "?" : b < 1024 ? `${b} B` : b < 1048576 ? `${(b / 1024).toFixed(1)} KB` : `${(b / 1048576).toFixed(2)} MB`;
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
        `${r.format || "?"} \xB7 ${r.width ?? "?"}\xD7${r.height ?? "?"} px \xB7 ${kb(r.bytes)}`,
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
  function buildPage() {
    urls.revokeAll();
    clear(grid);
    cards = /* @__PURE__ */ new Map();
    token += 1;
    delete el.dataset.painted;
    const items = model.get("items");
    empty.hidden = items.length > 0;
    empty.textContent = model.get("empty_text");
    let group;
    for (const it of items) {
      if (it.group !== void 0 && it.group !== group) {
        group = it.group;
        grid.append(groupHeader(it));
      }
      const img = h("img", { class: "aisw-thumb", alt: it.name, loading: "eager", decoding: "async" });
      const box = h("input", { type: "checkbox", class: "aisw-check", "aria-label": `Select ${it.name}` });
      box.addEventListener("change", () => toggle(it.id, box.checked));
      const menu = h("button", {
        class: "aisw-similar-one",
        text: "\u2248",
        title: "Search similar to this image",
        "aria-label": `Search similar to ${it.name}`,
        on: { click: (e) => {
          e.stopPropagation();
          send(Request.SIMILAR_ONE, { id: it.id });
        } }
      });
      const frame = h("div", { class: "aisw-frame", title: "Click to enlarge" }, [img]);
      frame.addEventListener("click", () => send(Request.PREVIEW, { id: it.id }, showPreview));
      const caption = h("div", { class: "aisw-caption" }, [
        it.best ? h("span", { class: "aisw-best-badge", text: "keep", title: "The copy kept: only proposed until you trash the others" }) : null,
        it.match ? h("span", { class: "aisw-match", text: it.match, title: `How this copy matches the kept one: ${it.match}` }) : null,
        h("span", { class: "aisw-score", text: fmtScore(it.score) }),
        it.time ? h("span", { class: "aisw-time", text: it.time, title: `time in ${it.name}` }) : null,
        h("span", { class: "aisw-name", text: it.name, title: it.path || it.name })
      ]);
      const card = h("div", { class: it.best ? "aisw-card aisw-best" : "aisw-card", role: "listitem", dataset: { id: it.id, rank: String(it.rank) } }, [
        frame,
        box,
        menu,
        caption
      ]);
      grid.append(card);
      cards.set(it.id, { card, img, box });
    }
    updateSelection();
    updateToolbar();
    if (items.length) {
      const page2 = token;
      send(Request.THUMBS, { ids: items.map((i) => i.id) }, (reply, buffers) => {
        if (page2 === token) paint(page2, reply, buffers);
      });
    } else {
      el.dataset.painted = String(token);
    }
  }
  function paint(page2, reply, buffers) {
    let pending = 0;
    const done = () => {
      pending -= 1;
      if (pending <= 0 && page2 === token) el.dataset.painted = String(page2);
    };
    (reply.ids || []).forEach((id, i) => {
      const c = cards.get(id);
      if (!c || !buffers[i] || buffers[i].byteLength === 0) return;
      pending += 1;
      c.img.addEventListener("load", done, { once: true });
      c.img.addEventListener("error", done, { once: true });
      c.img.src = urls.make(buffers[i]);
    });
    if (pending === 0) el.dataset.painted = String(page2);
  }
  function showPreview(reply, buffers) {
    if (!reply.ok) return;
    previewUrls.revokeAll();
    if (buffers[0]) overlayImg.src = previewUrls.make(buffers[0]);
    overlayImg.alt = reply.name;
    const at = reply.time ? ` \xB7 t ${reply.time}` : "";
    overlayCaption.textContent = `${reply.name}${at} \xB7 score ${fmtScore(reply.score)}`;
    overlay.hidden = false;
    overlay.focus();
  }
  model.on("change:items", buildPage);
  model.on("change:segments", buildSegments);
  model.on("change:view", updateView);
  model.on("change:selected", updateSelection);
  model.on("change:total change:page change:page_size", updateToolbar);
  model.on("change:empty_text", () => empty.textContent = model.get("empty_text"));
  const updateMessage = () => showMessage(message, model.get("message"), model.get("message_kind"));
  model.on("change:message change:message_kind", updateMessage);
  updateMessage();
  buildPage();
  buildSegments();
  return () => {
    urls.revokeAll();
    previewUrls.revokeAll();
    compareUrls.revokeAll();
  };
}
var gallery_default = { render };
export {
  gallery_default as default
};
