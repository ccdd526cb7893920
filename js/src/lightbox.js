// The preview: one image of the page at the size of the window (small images scaled
// up, the tiny ones with sharp pixels), previous/next (arrow keys and buttons, across
// pages), close (button, Esc, a click beside the image), what the project knows of
// the image (its name in the project, size, dimensions, score, tags, video time) and
// actions: select, tag, search similar.
//
// It is put on document.body while open: inside a notebook the output area may be a
// containing block for fixed elements (a cell with `contain` or content-visibility),
// which would clip it to the cell. Keys handled here never reach the host's shortcuts.
import { h, clear, fmtScore, fmtBytes, fmtClock, hasModifier, BlobUrls } from "./dom.js";
import { Request } from "./protocol.js";
import { boxLayer, drawBoxes } from "./labels.js";

const TINY = 300; // px: a preview this small is scaled up with sharp pixels
const MAX_PREVIEW = 2048; // px: the largest preview asked for (the kernel caps it too)

// The longest side, in device pixels, of the box the preview is shown in: what the
// kernel renders (never more than the original's own size).
function boxSize(stage) {
  const ratio = window.devicePixelRatio || 1;
  const side = Math.max(stage.clientWidth, stage.clientHeight, 1) * ratio;
  return Math.min(MAX_PREVIEW, Math.max(64, Math.round(side)));
}

/**
 * `gallery`: {items() (the page's items), index(id), thumbUrl(id) (the card's
 * thumbnail, shown until the preview arrives), turn(delta) (ask for the next or
 * previous page; true when it will come), position(index) ("12 of 120"),
 * knownTags(), focusCard(id)}.
 */
export function createLightbox({ model, send, gallery }) {
  const urls = new BlobUrls();
  let current = null; // the item shown
  let seq = 0; // replies for an image no longer shown are dropped

  const img = h("img", { class: "aisw-preview", alt: "" });
  const prev = h("button", { class: "aisw-lb-nav aisw-lb-prev", text: "‹", title: "Previous (←)", "aria-label": "Previous image" });
  const next = h("button", { class: "aisw-lb-nav aisw-lb-next", text: "›", title: "Next (→)", "aria-label": "Next image" });
  const close = h("button", { class: "aisw-btn aisw-lb-close", text: "✕", title: "Close (Esc)", "aria-label": "Close the preview" });
  const position = h("span", { class: "aisw-lb-position" });
  const title = h("span", { class: "aisw-lb-title", id: `aisw-lb-title-${Math.random().toString(36).slice(2, 8)}` });
  const facts = h("dl", { class: "aisw-lb-facts" });
  const tagList = h("div", { class: "aisw-lb-tags", "aria-label": "Tags" });
  const selectBtn = h("button", { class: "aisw-btn aisw-lb-select", "aria-pressed": "false" });
  const tagBtn = h("button", { class: "aisw-btn aisw-lb-tag", text: "Tag… (t)" });
  const similarBtn = h("button", { class: "aisw-btn aisw-lb-similar", text: "≈ Similar images" });
  const tagInput = h("input", { type: "text", class: "aisw-lb-tag-input", placeholder: "tag", "aria-label": "Tag name", maxlength: "100" });
  const tagHints = h("datalist", { id: `aisw-lb-tags-${Math.random().toString(36).slice(2, 8)}` });
  tagInput.setAttribute("list", tagHints.id);
  const tagSelected = h("button", { type: "submit", class: "aisw-btn aisw-primary aisw-lb-tag-selected" });
  const tagThis = h("button", { type: "button", class: "aisw-btn aisw-lb-tag-this", text: "This image" });
  const tagCancel = h("button", { type: "button", class: "aisw-btn aisw-lb-tag-cancel", text: "Cancel" });
  const tagForm = h("form", { class: "aisw-lb-tag-form", hidden: true }, [
    h("label", { class: "aisw-lb-tag-label", text: "Tag" }),
    tagInput, tagHints,
    h("div", { class: "aisw-row" }, [tagSelected, tagThis, tagCancel]),
  ]);
  const status = h("div", { class: "aisw-lb-status", role: "status" });
  const boxes = boxLayer(); // the image's boxes, over the image (labels.js)
  const labelList = h("div", { class: "aisw-lb-labels", "aria-label": "Labels" });
  const stage = h("div", { class: "aisw-lb-stage" }, [img, boxes, prev, next]);
  const side = h("div", { class: "aisw-lb-side" }, [
    facts,
    h("div", { class: "aisw-lb-heading", text: "Labels" }),
    labelList,
    h("div", { class: "aisw-lb-heading", text: "Tags" }),
    tagList,
    h("div", { class: "aisw-lb-actions" }, [selectBtn, tagBtn, similarBtn]),
    tagForm,
    status,
  ]);
  const root = h("div", {
    class: "aisw aisw-lightbox",
    role: "dialog",
    "aria-modal": "true",
    "aria-labelledby": title.id,
    tabindex: "-1",
  }, [
    h("div", { class: "aisw-lb-bar" }, [position, title, h("span", { class: "aisw-spacer" }), close]),
    h("div", { class: "aisw-lb-main" }, [stage, side]),
  ]);

  const isOpen = () => root.isConnected;
  const selected = () => new Set(model.get("selected"));

  function setSelected(set) {
    model.set("selected", [...set]);
    model.save_changes();
  }

  function show(item) {
    const again = current && current.id === item.id;
    current = item;
    const mine = ++seq;
    if (!again) {
      urls.revokeAll();
      const thumb = gallery.thumbUrl(item.id);
      if (thumb) img.src = thumb;
      else img.removeAttribute("src");
      img.classList.remove("aisw-pixelated");
      clear(facts);
      clear(tagList);
      clear(labelList);
      drawBoxes(boxes, null);
      status.textContent = "";
      closeTagForm(false);
    }
    img.alt = item.name;
    title.textContent = item.name;
    title.title = item.name;
    const i = gallery.index(item.id); // -1: not on this page (a segment's best frame)
    position.textContent = i < 0 ? "" : gallery.position(i);
    prev.disabled = i < 0 || !gallery.canGo(i, -1);
    next.disabled = i < 0 || !gallery.canGo(i, +1);
    updateSelect();
    if (!isOpen()) {
      document.body.append(root);
      root.focus();
    }
    if (again) return;
    send(Request.PREVIEW, { id: item.id, size: boxSize(stage) }, (reply, buffers) => {
      if (mine !== seq || !reply.ok || !buffers[0]) return;
      img.src = urls.make(buffers[0]);
    });
    loadDetails(mine);
  }

  function loadDetails(mine = seq) {
    const id = current.id;
    send(Request.DETAILS, { id }, (reply) => {
      if (mine !== seq || !reply.ok) return;
      showDetails(reply.details);
    });
  }

  img.addEventListener("load", () => {
    img.classList.toggle("aisw-pixelated", img.naturalWidth <= TINY && img.naturalHeight <= TINY);
  });

  function showDetails(d) {
    clear(facts);
    const row = (k, v) => facts.append(h("dt", { text: k }), h("dd", { text: v }));
    title.textContent = d.name;
    title.title = d.name;
    row("Name", d.name);
    if (typeof d.score === "number") row("Score", `${fmtScore(d.score)} (#${d.rank})`);
    if (d.kind === "frame" && typeof d.t === "number") row("Video time", fmtClock(d.t));
    row("Dimensions", d.width && d.height ? `${d.width} × ${d.height} px` : "?");
    row(d.kind === "frame" ? "Video size" : "File size", fmtBytes(d.bytes));
    clear(labelList);
    const labels = d.labels || [];
    if (!labels.length) labelList.append(h("span", { class: "aisw-muted", text: "none" }));
    for (const l of labels) labelList.append(h("span", { class: "aisw-label-chip", text: l }));
    drawBoxes(boxes, d);
    clear(tagList);
    if (!d.tags.length) tagList.append(h("span", { class: "aisw-muted", text: "none" }));
    for (const t of d.tags) {
      tagList.append(h("span", { class: "aisw-tag-chip" }, [
        h("span", { class: "aisw-tag-chip-name", text: t }),
        h("button", {
          class: "aisw-tag-chip-x",
          text: "×",
          title: `Remove the tag ${t}`,
          "aria-label": `Remove the tag ${t}`,
          on: { click: () => untag(t) },
        }),
      ]));
    }
  }

  function updateSelect() {
    if (!current) return;
    const on = selected().has(current.id);
    selectBtn.textContent = on ? "☑ Selected (Space)" : "☐ Select (Space)";
    selectBtn.setAttribute("aria-pressed", String(on));
    const n = selected().size;
    tagSelected.textContent = n ? `Tag ${n} selected` : "Tag this image";
    tagThis.hidden = n === 0;
  }

  function toggleSelect() {
    const sel = selected();
    if (sel.has(current.id)) sel.delete(current.id);
    else sel.add(current.id);
    setSelected(sel);
  }

  function openTagForm() {
    updateSelect();
    clear(tagHints);
    for (const t of gallery.knownTags()) tagHints.append(h("option", { value: t }));
    tagForm.hidden = false;
    tagInput.value = "";
    tagInput.focus();
  }

  function closeTagForm(refocus = true) {
    tagForm.hidden = true;
    if (refocus && isOpen()) root.focus();
  }

  function tag(ids) {
    const t = tagInput.value.trim();
    if (!t) return tagInput.focus();
    send(Request.TAG_IMAGES, { ids, tag: t }, (reply) => {
      if (!reply.ok) {
        status.textContent = reply.error || "Tagging failed.";
        return;
      }
      status.textContent = `Tagged ${ids.length} ${ids.length === 1 ? "image" : "images"} “${t}”.`;
      closeTagForm();
      if (current) loadDetails();
    });
  }

  function untag(t) {
    send(Request.UNTAG_IMAGES, { ids: [current.id], tag: t }, (reply) => {
      status.textContent = reply.ok ? `Removed the tag “${t}”.` : reply.error || "Untagging failed.";
      if (reply.ok && current) loadDetails();
    });
  }

  tagForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const sel = model.get("selected");
    tag(sel.length ? [...sel] : [current.id]);
  });
  tagThis.addEventListener("click", () => tag([current.id]));
  tagCancel.addEventListener("click", () => closeTagForm());

  function go(delta) {
    if (!current) return;
    const i = gallery.index(current.id);
    if (i < 0) return;
    const items = gallery.items();
    const j = i + delta;
    if (j >= 0 && j < items.length) show(items[j]);
    else gallery.turn(delta); // the gallery calls show() once the page is there
  }

  function hide() {
    if (!isOpen()) return;
    const id = current ? current.id : null;
    root.remove();
    urls.revokeAll();
    img.removeAttribute("src");
    current = null;
    seq += 1;
    if (id) gallery.focusCard(id);
  }

  prev.addEventListener("click", () => go(-1));
  next.addEventListener("click", () => go(+1));
  close.addEventListener("click", hide);
  selectBtn.addEventListener("click", toggleSelect);
  tagBtn.addEventListener("click", openTagForm);
  similarBtn.addEventListener("click", () => {
    const id = current.id;
    hide();
    send(Request.SIMILAR_ONE, { id });
  });
  stage.addEventListener("click", (e) => e.target === stage && hide());

  root.addEventListener("keydown", (e) => {
    const typing = e.target === tagInput;
    if (e.key === "Tab") return trapTab(e);
    if (hasModifier(e)) return;
    e.stopPropagation(); // the host's shortcuts (notebook, JupyterLab) stay out
    if (typing) {
      if (e.key === "Escape") {
        e.preventDefault();
        closeTagForm();
      }
      return;
    }
    const keys = {
      ArrowLeft: () => go(-1),
      ArrowRight: () => go(+1),
      Escape: () => (tagForm.hidden ? hide() : closeTagForm()),
      " ": toggleSelect,
      t: openTagForm,
    };
    const fn = e.target.tagName === "BUTTON" && e.key === " " ? null : keys[e.key];
    if (fn) {
      e.preventDefault();
      fn();
    }
  });

  // Tab stays inside the dialog while it is open.
  function trapTab(e) {
    const focusable = [...root.querySelectorAll("button, input")].filter(
      (n) => !n.disabled && n.offsetParent !== null,
    );
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (e.shiftKey && (document.activeElement === first || document.activeElement === root)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
    e.stopPropagation();
  }

  return {
    show,
    hide,
    isOpen,
    current: () => current,
    updateSelect,
    destroy() {
      hide();
      urls.revokeAll();
    },
  };
}
