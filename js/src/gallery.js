// Thumbnail gallery: one page at a time. Python sends the page's items (ids, names,
// scores) as a trait; the thumbnails come as binary JPEG buffers in reply to a
// request for exactly the ids on screen, and are shown through blob URLs that are
// revoked when the page changes. Frames of videos carry their time stamp; for them
// a "Segments" view lists the time ranges Python merged (Collection.segments).
// Actions on the selection live in the result bar's "With N selected" menu
// (actions.js). A duplicates view heads each group with Compare (the group side by
// side: file facts and difference images; choose the copy to keep) and a confirmed
// "Trash N copies".
import { h, clear, fmtScore, showMessage, BlobUrls } from "./dom.js";
import { Request, View } from "./protocol.js";
import { requester } from "./requests.js";

function render({ model, el }) {
  el.classList.add("aisw", "aisw-gallery");
  const message = h("div", { class: "aisw-message", hidden: true });
  const send = requester(model, message);
  const urls = new BlobUrls();
  const previewUrls = new BlobUrls();
  let token = 0; // the page on screen: a thumbnail reply for an older one is dropped
  let cards = new Map(); // id -> {card, img, box}

  const countLabel = h("span", { class: "aisw-count", "aria-live": "polite" });
  const prevBtn = h("button", { class: "aisw-btn", text: "‹ Prev", title: "Previous page" });
  const nextBtn = h("button", { class: "aisw-btn", text: "Next ›", title: "Next page" });
  const selectPageBtn = h("button", { class: "aisw-btn", text: "Select page" });
  const clearBtn = h("button", { class: "aisw-btn", text: "Clear selection" });
  const viewBtn = h("button", { class: "aisw-btn aisw-view-toggle", hidden: true });
  const toolbar = h("div", { class: "aisw-toolbar" }, [
    prevBtn, countLabel, nextBtn, viewBtn, h("span", { class: "aisw-spacer" }), selectPageBtn, clearBtn,
  ]);
  const grid = h("div", { class: "aisw-grid", role: "list" });
  const segBody = h("tbody");
  const segTable = h("table", { class: "aisw-segments", hidden: true }, [
    h("thead", {}, [
      h("tr", {}, ["Video", "Start", "End", "Frames", "Best score"].map((c) => h("th", { text: c }))),
    ]),
    segBody,
  ]);
  const empty = h("div", { class: "aisw-empty aisw-muted", text: "No results yet." });
  const overlayImg = h("img", { class: "aisw-preview", alt: "" });
  const overlayCaption = h("div", { class: "aisw-preview-caption" });
  const overlay = h("div", { class: "aisw-overlay aisw-lightbox", hidden: true, tabindex: "-1" }, [
    h("div", { class: "aisw-preview-box" }, [overlayImg, overlayCaption]),
  ]);
  const compareBody = h("div", { class: "aisw-compare-body" });
  const compareTitle = h("div", { class: "aisw-compare-title", role: "heading", "aria-level": "3" });
  const compareTrash = h("button", { class: "aisw-btn aisw-danger aisw-compare-trash" });
  const compareClose = h("button", { class: "aisw-btn aisw-compare-close", text: "Close" });
  const compare = h("div", { class: "aisw-overlay aisw-compare", hidden: true, tabindex: "-1", role: "dialog", "aria-label": "Compare a group" }, [
    h("div", { class: "aisw-compare-box" }, [
      compareTitle,
      compareBody,
      h("div", { class: "aisw-row" }, [h("span", { class: "aisw-spacer" }), compareTrash, compareClose]),
    ]),
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
        h("td", { text: fmtScore(s.score) }),
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
    countLabel.textContent = total ? `${first}–${last} of ${total}` : "0 images";
    prevBtn.disabled = page() === 0;
    nextBtn.disabled = page() + 1 >= pages();
  }

  // A duplicates view: a header where a group starts (its number, size and kind),
  // Compare, and "Trash N copies" confirmed in place. The copy kept is marked; it is
  // only proposed until the user confirms. Every string is text, never HTML.
  function groupHeader(it) {
    const n = it.group_size;
    const copies = n - 1;
    const kind = it.group_kind ? ` · ${it.group_kind}` : "";
    const trash = h("button", { class: "aisw-btn aisw-trash-group", text: `Trash ${copies} ${copies === 1 ? "copy" : "copies"}…` });
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
    confirm.addEventListener("click", () =>
      send(Request.TRASH_GROUP, { group: it.group, count: copies }, () => ask(false)),
    );
    return h("div", {
      class: "aisw-group-header",
      dataset: { group: String(it.group) },
    }, [
      h("span", { role: "heading", "aria-level": "3", text: `Group ${it.group + 1} · ${n} ${n === 1 ? "image" : "images"}${kind}` }),
      h("button", { class: "aisw-btn aisw-compare-btn", text: "Compare", on: { click: () => openCompare(it.group) } }),
      trash, confirm, cancel,
    ]);
  }

  // -- compare a duplicate group side by side ------------------------------------------
  const compareUrls = new BlobUrls();
  let compareGroup = null;
  const kb = (b) => (b === null || b === undefined ? "?" : b < 1024 ? `${b} B` : b < 1048576 ? `${(b / 1024).toFixed(1)} KB` : `${(b / 1048576).toFixed(2)} MB`);
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
    compareTitle.textContent = `Group ${compareGroup + 1} · ${rows.length} images · the kept copy first`;
    for (const r of rows) {
      const pic = h("img", { class: "aisw-compare-pic", alt: r.name });
      if (r.pic >= 0 && buffers[r.pic]) pic.src = compareUrls.make(buffers[r.pic]);
      const facts = [
        `${r.format || "?"} · ${r.width ?? "?"}×${r.height ?? "?"} px · ${kb(r.bytes)}`,
        ...Object.entries(r.facts || {}).map(([k, v]) => `${k}: ${v}`),
      ];
      const col = h("div", { class: r.keep ? "aisw-compare-col aisw-compare-kept" : "aisw-compare-col", dataset: { id: r.id } }, [
        r.keep
          ? h("span", { class: "aisw-best-badge", text: "kept" })
          : h("button", {
              class: "aisw-btn aisw-keep-this",
              text: "Keep this one instead",
              on: { click: () => send(Request.SET_KEEPER, { id: r.id }, (rep) => rep.ok && openCompare(compareGroup)) },
            }),
        h("div", { class: "aisw-frame aisw-compare-frame" }, [pic]),
        h("div", { class: "aisw-name", text: r.name, title: r.path }),
        ...facts.map((f) => h("div", { class: "aisw-muted aisw-compare-fact", text: f })),
        r.error ? h("div", { class: "aisw-error", text: r.error }) : null,
      ]);
      if (r.diff >= 0 && buffers[r.diff]) {
        col.append(
          h("div", { class: "aisw-frame aisw-compare-frame" }, [
            h("img", { class: "aisw-compare-diff", alt: `difference of ${r.name} to the kept copy`, src: compareUrls.make(buffers[r.diff]) }),
          ]),
          h("div", { class: "aisw-muted aisw-compare-fact", text: `difference to the kept copy: ${r.diff_pct}% (brightened 4×)` }),
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
    cards = new Map();
    token += 1;
    delete el.dataset.painted;
    const items = model.get("items");
    empty.hidden = items.length > 0;
    empty.textContent = model.get("empty_text");
    let group;
    for (const it of items) {
      if (it.group !== undefined && it.group !== group) {
        group = it.group;
        grid.append(groupHeader(it));
      }
      const img = h("img", { class: "aisw-thumb", alt: it.name, loading: "eager", decoding: "async" });
      const box = h("input", { type: "checkbox", class: "aisw-check", "aria-label": `Select ${it.name}` });
      box.addEventListener("change", () => toggle(it.id, box.checked));
      const menu = h("button", {
        class: "aisw-similar-one",
        text: "≈",
        title: "Search similar to this image",
        "aria-label": `Search similar to ${it.name}`,
        on: { click: (e) => { e.stopPropagation(); send(Request.SIMILAR_ONE, { id: it.id }); } },
      });
      const frame = h("div", { class: "aisw-frame", title: "Click to enlarge" }, [img]);
      frame.addEventListener("click", () => send(Request.PREVIEW, { id: it.id }, showPreview));
      const caption = h("div", { class: "aisw-caption" }, [
        it.best ? h("span", { class: "aisw-best-badge", text: "keep", title: "The copy kept: only proposed until you trash the others" }) : null,
        it.match ? h("span", { class: "aisw-match", text: it.match, title: `How this copy matches the kept one: ${it.match}` }) : null,
        h("span", { class: "aisw-score", text: fmtScore(it.score) }),
        it.time ? h("span", { class: "aisw-time", text: it.time, title: `time in ${it.name}` }) : null,
        h("span", { class: "aisw-name", text: it.name, title: it.path || it.name }),
      ]);
      const card = h("div", { class: it.best ? "aisw-card aisw-best" : "aisw-card", role: "listitem", dataset: { id: it.id, rank: String(it.rank) } }, [
        frame, box, menu, caption,
      ]);
      grid.append(card);
      cards.set(it.id, { card, img, box });
    }
    updateSelection();
    updateToolbar();
    if (items.length) {
      const page = token;
      send(Request.THUMBS, { ids: items.map((i) => i.id) }, (reply, buffers) => {
        if (page === token) paint(page, reply, buffers);
      });
    } else {
      el.dataset.painted = String(token);
    }
  }

  // Thumbnails of the page; an empty buffer (an image not shown, a broken file)
  // leaves its card without one. An error reply still carries the others.
  function paint(page, reply, buffers) {
    let pending = 0;
    const done = () => {
      pending -= 1;
      if (pending <= 0 && page === token) el.dataset.painted = String(page);
    };
    (reply.ids || []).forEach((id, i) => {
      const c = cards.get(id);
      if (!c || !buffers[i] || buffers[i].byteLength === 0) return;
      pending += 1;
      c.img.addEventListener("load", done, { once: true });
      c.img.addEventListener("error", done, { once: true });
      c.img.src = urls.make(buffers[i]);
    });
    if (pending === 0) el.dataset.painted = String(page);
  }

  function showPreview(reply, buffers) {
    if (!reply.ok) return;
    previewUrls.revokeAll();
    if (buffers[0]) overlayImg.src = previewUrls.make(buffers[0]);
    overlayImg.alt = reply.name;
    const at = reply.time ? ` · t ${reply.time}` : "";
    overlayCaption.textContent = `${reply.name}${at} · score ${fmtScore(reply.score)}`;
    overlay.hidden = false;
    overlay.focus();
  }

  model.on("change:items", buildPage);
  model.on("change:segments", buildSegments);
  model.on("change:view", updateView);
  model.on("change:selected", updateSelection);
  model.on("change:total change:page change:page_size", updateToolbar);
  model.on("change:empty_text", () => (empty.textContent = model.get("empty_text")));
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

export default { render };
