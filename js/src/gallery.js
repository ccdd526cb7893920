// Thumbnail gallery: one page at a time. Python sends the page's items (ids, names,
// scores, tags) as a trait; the thumbnails come as binary JPEG buffers in reply to a
// request for exactly the ids on screen, and are shown through blob URLs that are
// revoked when the page changes. Frames of videos carry their time stamp; for them
// a "Segments" view lists the time ranges Python merged (Collection.segments).
// Two shortcuts save round trips (widgets/_paging.py): a new view's first page comes
// with its thumbnails (THUMBS_SENT, just before the items), and once a page is
// painted the next one is asked ahead (PAGE_AHEAD), so Next draws it at once.
// Actions on the selection live in the result bar's "With N selected" menu
// (actions.js). A duplicates view heads each group with Compare (the group side by
// side: file facts and difference images; choose the copy to keep) and a confirmed
// "Trash N copies".
//
// The grid is one Tab stop (a roving tabindex: the active card is focusable, the
// others are not); the keys are listed in the "?" overlay (KEYS). Keys the grid
// handles stop there: they must not reach the notebook's shortcuts (a "d d" on a
// card would delete the cell, ArrowDown would move to the next cell). Tags show as
// chips on the cards; the tag filter shows only the results with one tag.
import { h, clear, fmtScore, hasModifier, showMessage, BlobUrls } from "./dom.js";
import { Request, View, THUMBS_SENT } from "./protocol.js";
import { requester } from "./requests.js";
import { createLightbox } from "./lightbox.js";
import { createLabelFilter, labelChips } from "./labels.js";
import { createCompare } from "./compare.js";
import { feedbackButtons, markOfKey, showMark, toggleMark } from "./feedback.js";

const CHIPS = 3; // tag chips on a card; the others are counted ("+2")

const KEYS = [
  ["← → ↑ ↓", "move between images"],
  ["Shift + arrows", "select a range"],
  ["Space", "select or deselect"],
  ["Shift + click", "select a range"],
  ["Ctrl/⌘ + A", "select all results (every page)"],
  ["Enter", "open the preview"],
  ["t", "tag the selection (or this image)"],
  ["Esc", "clear the selection"],
  ["Home / End", "first / last image of the page"],
  ["Page Up / Down", "previous / next page"],
  ["In the preview", "← → previous / next · Space select · t tag · Esc close"],
];

function render({ model, el }) {
  el.classList.add("aisw", "aisw-gallery");
  const message = h("div", { class: "aisw-message", hidden: true });
  const send = requester(model, message);
  const urls = new BlobUrls();
  let token = 0; // the page on screen: a thumbnail reply for an older one is dropped
  let cards = new Map(); // id -> {card, img, box, tags, item}
  let order = []; // ids of the page, in order
  let activeId = null; // the card holding the grid's one Tab stop
  let anchorId = null; // where a Shift range starts
  let rangeBase = null; // the selection before the current Shift range
  let afterBuild = null; // "first" | "last": a page turned from the keyboard or the preview
  let shown = []; // the items on screen (a page drawn ahead of Python's items included)
  // The next page asked ahead: {view, page, items, bufs: id -> buffer, imgs: id -> <img>
  // decoded meanwhile, urls: their blob URLs}.
  let ahead = null;
  let asking = null; // "view:page" of the page being asked ahead
  const sent = new Map(); // id -> buffer: thumbnails Python sent with a new view's page

  const countLabel = h("span", { class: "aisw-count", "aria-live": "polite" });
  const prevBtn = h("button", { class: "aisw-btn", text: "‹ Prev", title: "Previous page (Page Up)" });
  const nextBtn = h("button", { class: "aisw-btn", text: "Next ›", title: "Next page (Page Down)" });
  const selectPageBtn = h("button", { class: "aisw-btn", text: "Select page" });
  const clearBtn = h("button", { class: "aisw-btn", text: "Clear selection" });
  const selCount = h("span", { class: "aisw-sel-count aisw-muted", "aria-live": "polite" });
  const viewBtn = h("button", { class: "aisw-btn aisw-view-toggle", hidden: true });
  const tagFilter = h("select", { class: "aisw-tag-filter", "aria-label": "Show only the images with this tag" });
  const tagFilterWrap = h("label", { class: "aisw-tag-filter-wrap", hidden: true }, [
    h("span", { class: "aisw-muted", text: "Tag" }),
    tagFilter,
  ]);
  const labelFilter = createLabelFilter(model);
  const helpBtn = h("button", {
    class: "aisw-btn aisw-help-btn", text: "?", title: "Keyboard shortcuts (?)", "aria-label": "Keyboard shortcuts", "aria-expanded": "false",
  });
  const toolbar = h("div", { class: "aisw-toolbar" }, [
    prevBtn, countLabel, nextBtn, viewBtn, tagFilterWrap, labelFilter.el, h("span", { class: "aisw-spacer" }),
    selCount, selectPageBtn, clearBtn, helpBtn,
  ]);
  const help = h("div", { class: "aisw-help", role: "dialog", "aria-label": "Keyboard shortcuts", hidden: true, tabindex: "-1" }, [
    h("div", { class: "aisw-help-title", text: "Keyboard (click a thumbnail or Tab to the grid first)" }),
    h("dl", {}, KEYS.flatMap(([k, what]) => [h("dt", {}, [h("kbd", { text: k })]), h("dd", { text: what })])),
    h("button", { class: "aisw-btn aisw-help-close", text: "Close" }),
  ]);
  const tagInput = h("input", { type: "text", class: "aisw-grid-tag-input", placeholder: "tag", "aria-label": "Tag name", maxlength: "100" });
  const tagHints = h("datalist", { id: `aisw-tags-${Math.random().toString(36).slice(2, 8)}` });
  tagInput.setAttribute("list", tagHints.id);
  const tagWhat = h("span", { class: "aisw-grid-tag-what" });
  const tagForm = h("form", { class: "aisw-row aisw-grid-tag-form", hidden: true, "data-lm-suppress-shortcuts": "true" }, [
    tagWhat, tagInput, tagHints,
    h("button", { type: "submit", class: "aisw-btn aisw-primary", text: "Tag" }),
    h("button", { type: "button", class: "aisw-btn aisw-grid-tag-cancel", text: "Cancel" }),
  ]);
  const grid = h("div", {
    class: "aisw-grid", role: "listbox", "aria-multiselectable": "true", "aria-label": "Results",
  });
  const segBody = h("tbody");
  const segTable = h("table", { class: "aisw-segments", hidden: true }, [
    h("thead", {}, [
      h("tr", {}, ["Video", "Start", "End", "Frames", "Best score"].map((c) => h("th", { text: c }))),
    ]),
    segBody,
  ]);
  const empty = h("div", { class: "aisw-empty aisw-muted", text: "No results yet." });
  const compare = createCompare(send); // a duplicate group side by side (compare.js)
  el.append(toolbar, help, tagForm, message, grid, segTable, empty, compare.el);

  viewBtn.addEventListener("click", () => {
    model.set("view", model.get("view") === View.SEGMENTS ? View.GRID : View.SEGMENTS);
    model.save_changes();
  });

  const page = () => model.get("page");
  const pages = () => Math.max(1, Math.ceil(model.get("total") / model.get("page_size")));
  const items = () => shown;
  const indexOf = (id) => order.indexOf(id);

  // -- the preview ----------------------------------------------------------------------
  const lightbox = createLightbox({
    model,
    send,
    gallery: {
      items,
      index: indexOf,
      thumbUrl: (id) => (cards.get(id) && cards.get(id).img.getAttribute("src")) || null,
      position: (i) => `${page() * model.get("page_size") + i + 1} of ${model.get("total")}`,
      canGo: (i, d) => (d < 0 ? i > 0 || page() > 0 : i + 1 < order.length || page() + 1 < pages()),
      turn: (d) => turnPage(d, d > 0 ? "first" : "last"),
      knownTags: () => (model.get("tags") || []).map((t) => t.tag),
      focusCard: (id) => setActive(id, true),
    },
  });
  // `other`: an image shown but not on this page (a segment's best frame).
  const openPreview = (id, other = null) => {
    const it = cards.get(id);
    if (it) lightbox.show(it.item);
    else if (other) lightbox.show(other);
  };

  function turnPage(delta, land) {
    const p = page() + delta;
    if (p < 0 || p >= pages()) return false;
    afterBuild = land;
    const hit = ahead && ahead.page === p && ahead.view === model.get("view_id") ? ahead : null;
    if (!hit) dropAhead();
    ahead = null;
    model.set("page", p);
    model.save_changes();
    // The page asked ahead is drawn now; Python's items for it name the same images.
    if (hit) buildPage(hit.items, hit.bufs, hit);
    return true;
  }

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
      if (s.id) row.addEventListener("click", () => openPreview(s.id, { id: s.id, name: s.name, time: "" }));
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

  prevBtn.addEventListener("click", () => turnPage(-1, null));
  nextBtn.addEventListener("click", () => turnPage(+1, null));
  clearBtn.addEventListener("click", () => setSelected(new Set()));
  selectPageBtn.addEventListener("click", () => {
    const sel = new Set(model.get("selected"));
    for (const id of order) sel.add(id);
    setSelected(sel);
  });

  // -- selection ------------------------------------------------------------------------
  function setSelected(set) {
    model.set("selected", [...set]);
    model.save_changes();
  }

  function toggle(id) {
    const sel = new Set(model.get("selected"));
    if (sel.has(id)) sel.delete(id);
    else sel.add(id);
    anchorId = id;
    rangeBase = null;
    setSelected(sel);
  }

  // Shift: the selection before this range, plus every image from the anchor to `id`
  // (a later Shift+arrow back shrinks the range again).
  function selectRange(id) {
    if (anchorId === null || indexOf(anchorId) < 0) {
      toggle(id);
      return;
    }
    if (rangeBase === null) rangeBase = new Set(model.get("selected"));
    const [a, b] = [indexOf(anchorId), indexOf(id)].sort((x, y) => x - y);
    const sel = new Set(rangeBase);
    for (const i of order.slice(a, b + 1)) sel.add(i);
    setSelected(sel);
  }

  let allCount = null; // the count Ctrl+A announced, while that selection stands
  function selectAll() {
    send(Request.SELECT_ALL, {}, (reply) => {
      if (!reply.ok) return;
      allCount = reply.count;
      showMessage(message, `Selected all ${reply.count} images shown (every page).`, "info");
    });
  }

  function updateSelection() {
    const sel = new Set(model.get("selected"));
    for (const [id, c] of cards) {
      const on = sel.has(id);
      c.box.checked = on;
      c.card.classList.toggle("aisw-selected", on);
      c.card.setAttribute("aria-selected", String(on));
    }
    clearBtn.disabled = sel.size === 0;
    if (allCount !== null && sel.size !== allCount) {
      allCount = null;
      showMessage(message, "", "info"); // the announcement goes with the selection it announced
    }
    selCount.textContent = sel.size ? `${sel.size} selected` : "";
    lightbox.updateSelect();
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

  // -- the tag filter ---------------------------------------------------------------------
  function updateTags() {
    const tags = model.get("tags") || [];
    const chosen = model.get("tag_filter");
    clear(tagFilter);
    tagFilter.append(h("option", { value: "", text: "All images" }));
    const names = tags.map((t) => t.tag);
    if (chosen && !names.includes(chosen)) tags.unshift({ tag: chosen, n: 0 });
    for (const t of tags) tagFilter.append(h("option", { value: t.tag, text: `${t.tag} (${t.n})` }));
    tagFilter.value = chosen || "";
    tagFilterWrap.hidden = tags.length === 0 && !chosen;
    tagFilterWrap.classList.toggle("aisw-tag-filter-on", Boolean(chosen));
    updateEmpty();
  }
  tagFilter.addEventListener("change", () => setTagFilter(tagFilter.value));
  function setTagFilter(tag) {
    model.set("tag_filter", tag);
    model.save_changes();
  }

  function updateEmpty() {
    const tag = model.get("tag_filter");
    empty.textContent = tag && model.get("empty_text") !== "No results yet."
      ? `No results tagged “${tag}” here. Choose “All images” in the tag filter to see the others.`
      : model.get("empty_text");
  }

  // -- help ("?") ------------------------------------------------------------------------
  function toggleHelp(on = help.hidden) {
    help.hidden = !on;
    helpBtn.setAttribute("aria-expanded", String(on));
    if (on) help.focus();
    else if (activeId) setActive(activeId, true);
  }
  helpBtn.addEventListener("click", () => toggleHelp());
  help.querySelector(".aisw-help-close").addEventListener("click", () => toggleHelp(false));
  help.addEventListener("keydown", (e) => {
    if (hasModifier(e) || e.key === "Tab") return;
    e.stopPropagation();
    if (e.key === "Escape" || e.key === "?") {
      e.preventDefault();
      toggleHelp(false);
    }
  });

  // -- tagging from the grid ("t") ---------------------------------------------------------
  let tagIds = [];
  function openTagForm() {
    const sel = model.get("selected");
    tagIds = sel.length ? [...sel] : activeId ? [activeId] : [];
    if (!tagIds.length) return;
    tagWhat.textContent = sel.length
      ? `Tag the ${sel.length} selected ${sel.length === 1 ? "image" : "images"}:`
      : `Tag ${cards.get(activeId).item.name}:`;
    clear(tagHints);
    for (const t of model.get("tags") || []) tagHints.append(h("option", { value: t.tag }));
    tagForm.hidden = false;
    tagInput.value = "";
    tagInput.focus();
  }
  function closeTagForm() {
    tagForm.hidden = true;
    if (activeId) setActive(activeId, true);
  }
  tagForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const tag = tagInput.value.trim();
    if (!tag) return;
    send(Request.TAG_IMAGES, { ids: tagIds, tag }, (reply) => reply.ok && closeTagForm());
  });
  tagForm.querySelector(".aisw-grid-tag-cancel").addEventListener("click", closeTagForm);
  tagForm.addEventListener("keydown", (e) => {
    if (hasModifier(e) || e.key === "Tab") return;
    e.stopPropagation();
    if (e.key === "Escape") {
      e.preventDefault();
      closeTagForm();
    }
  });

  // Plain keys pressed anywhere in the gallery (a page button, the tag filter, a group's
  // Compare) stay here too; Tab, Esc, Shift+Enter and the host's Ctrl/Cmd shortcuts pass.
  el.addEventListener("keydown", (e) => {
    if (hasModifier(e) || e.key === "Tab" || e.key === "Escape" || (e.key === "Enter" && e.shiftKey)) return;
    e.stopPropagation();
  });

  // -- the grid's one Tab stop and its keys -----------------------------------------------
  function setActive(id, focus) {
    if (!cards.has(id)) return;
    if (activeId !== id && cards.has(activeId)) cards.get(activeId).card.tabIndex = -1;
    activeId = id;
    const card = cards.get(id).card;
    card.tabIndex = 0;
    if (focus) {
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  // The card above or below: the nearest by its centre in the next row, so the grid's
  // real column count (and a duplicates view's group rows) decide.
  function vertical(dir) {
    const cur = cards.get(activeId).card.getBoundingClientRect();
    const cx = cur.left + cur.width / 2;
    let best = null;
    let bestKey = null;
    for (const id of order) {
      const r = cards.get(id).card.getBoundingClientRect();
      const beyond = dir > 0 ? r.top >= cur.bottom - 1 : r.bottom <= cur.top + 1;
      if (!beyond) continue;
      const key = [Math.round(dir > 0 ? r.top : -r.bottom), Math.abs(r.left + r.width / 2 - cx)];
      if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
        best = id;
        bestKey = key;
      }
    }
    return best;
  }

  function moveTo(id, extend) {
    if (id === null || id === undefined) return;
    if (extend) {
      if (anchorId === null || indexOf(anchorId) < 0) {
        anchorId = activeId;
        rangeBase = null;
      }
      setActive(id, true);
      selectRange(id);
    } else {
      rangeBase = null;
      setActive(id, true);
    }
  }

  grid.addEventListener("keydown", (e) => {
    const card = e.target.closest(".aisw-card");
    if (!card || !cards.has(card.dataset.id)) return; // a group header's buttons
    if (activeId !== card.dataset.id) setActive(card.dataset.id, false);
    const i = indexOf(activeId);
    const mod = e.ctrlKey || e.metaKey;
    let done = true;
    if (mod && !e.altKey && (e.key === "a" || e.key === "A")) selectAll();
    else if (hasModifier(e) || e.key === "Tab") return; // the host's shortcuts, and Tab, pass
    else if (e.key === "Enter" && e.shiftKey) return; // Shift+Enter runs the cell
    else if (e.key === "ArrowRight") moveTo(order[Math.min(i + 1, order.length - 1)], e.shiftKey);
    else if (e.key === "ArrowLeft") moveTo(order[Math.max(i - 1, 0)], e.shiftKey);
    else if (e.key === "ArrowDown") moveTo(vertical(+1), e.shiftKey);
    else if (e.key === "ArrowUp") moveTo(vertical(-1), e.shiftKey);
    else if (e.key === "Home") moveTo(order[0], e.shiftKey);
    else if (e.key === "End") moveTo(order[order.length - 1], e.shiftKey);
    else if (e.key === "PageDown") turnPage(+1, "first");
    else if (e.key === "PageUp") turnPage(-1, "first");
    else if (e.key === " ") toggle(activeId);
    else if (e.key === "Enter") openPreview(activeId);
    else if (e.key === "t") openTagForm();
    else if (markOfKey(e.key)) toggleMark(model, send, activeId, markOfKey(e.key));
    else if (e.key === "?") toggleHelp(true);
    else if (e.key === "Escape") {
      if (!model.get("selected").length) return; // nothing to clear: Esc is the host's
      anchorId = null;
      rangeBase = null;
      setSelected(new Set());
    } else done = false;
    // Every other plain key stops here too: on a focused card the notebook would read
    // it as a command ("d d" deletes the cell, "a" inserts one).
    e.stopPropagation();
    if (done) e.preventDefault();
  });

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
      h("button", { class: "aisw-btn aisw-compare-btn", text: "Compare", on: { click: () => compare.open(it.group) } }),
      trash, confirm, cancel,
    ]);
  }


  function chipsOf(it) {
    const tags = it.tags || [];
    const shown = tags.slice(0, CHIPS);
    const row = h("div", { class: "aisw-card-tags", title: tags.length ? `Tags: ${tags.join(", ")}` : null }, [
      ...shown.map((t) => h("span", {
        class: "aisw-tag-chip",
        text: t,
        title: `Show only the images tagged ${t}`,
        dataset: { tag: t },
        on: {
          click: (e) => {
            e.stopPropagation();
            setTagFilter(t);
          },
        },
      })),
      tags.length > CHIPS ? h("span", { class: "aisw-tag-more", text: `+${tags.length - CHIPS}` }) : null,
    ]);
    row.hidden = tags.length === 0;
    return row;
  }

  function keepBadge() {
    return h("span", { class: "aisw-best-badge", text: "keep", title: "The copy kept: only proposed until you trash the others" });
  }

  // The "keep" badge and outline of a card drawn already, after the keeper changed.
  function showKeeper(c, best) {
    c.card.classList.toggle("aisw-best", best);
    const badge = c.card.querySelector(".aisw-best-badge");
    if (best && !badge) c.card.querySelector(".aisw-caption").prepend(keepBadge());
    else if (!best && badge) badge.remove();
  }

  function buildCard(it, decoded = null) {
    const id = it.id;
    const img = decoded || h("img", { class: "aisw-thumb", loading: "eager", decoding: "async" });
    img.alt = it.name;
    const box = h("input", { type: "checkbox", class: "aisw-check", tabindex: "-1", "aria-label": `Select ${it.name}` });
    // A click (Shift: a range). The checkbox shows the selection as Python keeps it.
    box.addEventListener("click", (e) => {
      e.stopPropagation();
      if (e.shiftKey) selectRange(id);
      else toggle(id);
      setActive(id, true);
    });
    const menu = h("button", {
      class: "aisw-similar-one",
      text: "≈",
      tabindex: "-1",
      title: "Search similar to this image",
      "aria-label": `Search similar to ${it.name}`,
      on: { click: (e) => { e.stopPropagation(); send(Request.SIMILAR_ONE, { id }); } },
    });
    const frame = h("div", { class: "aisw-frame", title: "Click to enlarge (Enter); Shift+click selects a range" }, [img]);
    const caption = h("div", { class: "aisw-caption" }, [
      it.best ? keepBadge() : null,
      it.match ? h("span", { class: "aisw-match", text: it.match, title: `How this copy matches the kept one: ${it.match}` }) : null,
      it.issue ? h("span", { class: "aisw-match aisw-issue", text: it.issue.replace(/_/g, " "), title: "Its worst quality issue; the score is how far beyond this project's usual" }) : null,
      h("span", { class: "aisw-score", text: fmtScore(it.score) }),
      it.time ? h("span", { class: "aisw-time", text: it.time, title: `time in ${it.name}` }) : null,
      h("span", { class: "aisw-name", text: it.name, title: it.path || it.name }),
    ]);
    const tags = chipsOf(it);
    const labels = labelChips(it.labels, labelFilter.set);
    const marks = feedbackButtons(id, it.name, model, send);
    const card = h("div", {
      class: it.best ? "aisw-card aisw-best" : "aisw-card",
      role: "option",
      tabindex: "-1",
      "aria-selected": "false",
      "aria-label": it.name,
      dataset: { id, rank: String(it.rank) },
    }, [frame, box, menu, marks, caption, labels, tags]);
    showMark(marks, (model.get("marks") || {})[id]);
    card.addEventListener("click", (e) => {
      if (e.shiftKey) selectRange(id);
      else if (e.ctrlKey || e.metaKey) toggle(id);
      else {
        setActive(id, true);
        openPreview(id);
        return;
      }
      setActive(id, true);
    });
    // No text selection on Shift+click.
    card.addEventListener("mousedown", (e) => e.shiftKey && e.preventDefault());
    return { card, img, box, tags, labels, marks, item: it };
  }

  // The next page's items and thumbnails, asked once a page is painted.
  function askAhead() {
    const p = page() + 1;
    const view = model.get("view_id");
    const key = `${view}:${p}`;
    if (!shown.length || p >= pages() || asking === key) return;
    if (ahead && ahead.view === view && ahead.page === p) return;
    asking = key;
    send(Request.PAGE_AHEAD, { page: p, view }, (reply, buffers) => {
      if (asking === key) asking = null;
      const list = reply.items || [];
      if (!reply.ok || reply.view !== view || view !== model.get("view_id") || !list.length) return;
      const bufs = new Map();
      (reply.ids || []).forEach((id, i) => {
        if (buffers[i] && buffers[i].byteLength) bufs.set(id, buffers[i]);
      });
      if (p === page() + 1) {
        dropAhead();
        // Decoded now, while the page is looked at: Next only moves them into the cards.
        const urls = new BlobUrls();
        const imgs = new Map();
        for (const [id, b] of bufs) {
          const img = h("img", { class: "aisw-thumb", loading: "eager", decoding: "async" });
          img.src = urls.make(b);
          img.decode().catch(() => {}); // a broken one shows as before: without a picture
          imgs.set(id, img);
        }
        ahead = { view, page: p, items: list, bufs, imgs, urls };
      } else if (p === page()) drawArrived(list, bufs); // Next was pressed while it was on its way
    });
  }

  function dropAhead() {
    if (ahead) ahead.urls.revokeAll();
    ahead = null;
  }

  // A page asked ahead that arrives after Next was pressed: drawn now, unless Python's
  // items for it came first and their thumbnails are already painted.
  function drawArrived(list, bufs) {
    const ids = list.map((it) => it.id);
    const same = ids.length === order.length && ids.every((id, i) => id === order[i]);
    if (!same) buildPage(list, bufs);
    else if (el.dataset.painted !== String(token) && ids.every((id) => bufs.get(id))) {
      paint(token, { ids }, ids.map((id) => bufs.get(id)));
    }
  }

  function setPainted(mine) {
    el.dataset.painted = String(mine);
    askAhead();
  }

  // `list`: the page's items (default: Python's); `bufs`: their thumbnails, when
  // already here (a page asked ahead; else those Python sent with the items).
  // `pre`: the page asked ahead, whose <img>s (decoded) the cards take.
  function buildPage(list = model.get("items"), bufs = sent, pre = null) {
    const ids = list.map((it) => it.id);
    const focused = grid.contains(document.activeElement);
    if (ids.length && ids.length === order.length && ids.every((id, i) => id === order[i])) {
      // The same images (their tags or labels changed): new chips, the thumbnails stay.
      for (const it of list) {
        const c = cards.get(it.id);
        const [chips, labels] = [chipsOf(it), labelChips(it.labels, labelFilter.set)];
        c.tags.replaceWith(chips);
        c.labels.replaceWith(labels);
        [c.tags, c.labels] = [chips, labels];
        showKeeper(c, Boolean(it.best)); // another copy chosen to keep
        c.item = it;
      }
      shown = list;
      sent.clear();
      const cur = lightbox.current();
      if (cur && cards.has(cur.id)) lightbox.show(cards.get(cur.id).item);
      if (el.dataset.painted === String(token)) askAhead(); // a new view may start here
      return;
    }
    urls.revokeAll();
    if (pre) {
      for (const u of pre.urls.urls) urls.urls.add(u); // revoked with this page's
      pre.urls.urls.clear();
    }
    clear(grid);
    cards = new Map();
    order = ids;
    shown = list;
    token += 1;
    delete el.dataset.painted;
    empty.hidden = list.length > 0;
    updateEmpty();
    let group;
    for (const it of list) {
      if (it.group !== undefined && it.group !== group) {
        group = it.group;
        grid.append(groupHeader(it));
      }
      const c = buildCard(it, pre && pre.imgs.get(it.id));
      grid.append(c.card);
      cards.set(it.id, c);
    }
    const land = afterBuild;
    afterBuild = null;
    const keep = cards.has(activeId) ? activeId : null;
    const target = land === "last" ? order[order.length - 1] : land === "first" ? order[0] : keep || order[0];
    if (target) setActive(target, focused && !lightbox.isOpen());
    else activeId = null;
    if (lightbox.isOpen()) {
      const cur = lightbox.current();
      if (land && target) lightbox.show(cards.get(target).item);
      else if (!cur || !cards.has(cur.id)) lightbox.hide();
    }
    updateSelection();
    updateToolbar();
    const mine = token;
    const here = ids.map((id) => bufs.get(id));
    sent.clear();
    if (pre && list.length && ids.every((id) => pre.imgs.has(id))) {
      whenLoaded(mine, ids.map((id) => cards.get(id).img));
    } else if (list.length && here.every((b) => b)) {
      paint(mine, { ids }, here);
    } else if (list.length) {
      send(Request.THUMBS, { ids }, (reply, buffers) => {
        // (already painted: from a page asked ahead that arrived meanwhile)
        if (mine === token && el.dataset.painted !== String(mine)) paint(mine, reply, buffers);
      });
    } else {
      setPainted(mine);
    }
  }

  // <img>s already given their picture (decoded ahead): painted once each has loaded.
  function whenLoaded(mine, imgs) {
    let pending = 0;
    const done = () => {
      pending -= 1;
      if (pending <= 0 && mine === token) setPainted(mine);
    };
    for (const img of imgs) {
      if (img.complete) continue;
      pending += 1;
      img.addEventListener("load", done, { once: true });
      img.addEventListener("error", done, { once: true });
    }
    if (pending === 0) setPainted(mine);
  }

  // Thumbnails of the page; an empty buffer (an image not shown, a broken file)
  // leaves its card without one. An error reply still carries the others.
  function paint(mine, reply, buffers) {
    let pending = 0;
    const done = () => {
      pending -= 1;
      if (pending <= 0 && mine === token) setPainted(mine);
    };
    (reply.ids || []).forEach((id, i) => {
      const c = cards.get(id);
      if (!c || !buffers[i] || buffers[i].byteLength === 0) return;
      pending += 1;
      c.img.addEventListener("load", done, { once: true });
      c.img.addEventListener("error", done, { once: true });
      c.img.src = urls.make(buffers[i]);
    });
    if (pending === 0) setPainted(mine);
  }

  model.on("change:items", () => buildPage());
  model.on("change:view_id", dropAhead);
  // Thumbnails sent unasked, just before the items of a new view's first page.
  model.on("msg:custom", (msg, buffers) => {
    if (!msg || msg.type !== THUMBS_SENT || !Array.isArray(msg.ids)) return;
    sent.clear();
    msg.ids.forEach((id, i) => {
      const b = (buffers || [])[i];
      if (b && b.byteLength) sent.set(id, b);
    });
  });
  model.on("change:marks", () => {
    const m = model.get("marks") || {};
    for (const [id, c] of cards) showMark(c.marks, m[id]);
  });
  model.on("change:segments", buildSegments);
  model.on("change:view", updateView);
  model.on("change:selected", updateSelection);
  model.on("change:tags change:tag_filter", updateTags);
  model.on("change:total change:page change:page_size", updateToolbar);
  model.on("change:empty_text", updateEmpty);
  const updateMessage = () => showMessage(message, model.get("message"), model.get("message_kind"));
  model.on("change:message change:message_kind", updateMessage);
  updateMessage();
  updateTags();
  buildPage();
  buildSegments();
  return () => {
    urls.revokeAll();
    dropAhead();
    lightbox.destroy();
    compare.destroy();
  };
}

export default { render };
