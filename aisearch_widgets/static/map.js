// The map's wheel guard. Over a map that has not been clicked, the wheel scrolls the
// notebook as it does everywhere else: the event is stopped on its way down (capture
// phase, on the document) before the scatter plot's own listener can zoom, and its
// default, the page scroll, is left alone. A click on a map makes it take the wheel
// (zoom) until a click elsewhere or Escape; Ctrl or Cmd + wheel zooms at any time.
const FLAG = "__aiswMapWheelGuard";
const HINT_MS = 1200;

function install(doc) {
  if (doc[FLAG]) return;
  doc[FLAG] = true;
  doc.addEventListener(
    "pointerdown",
    (e) => {
      const here = e.target instanceof Element ? e.target.closest(".aisw-scatter") : null;
      for (const m of doc.querySelectorAll(".aisw-scatter[data-active]")) {
        if (m !== here) m.removeAttribute("data-active");
      }
      if (here) here.setAttribute("data-active", "");
    },
    true,
  );
  doc.addEventListener(
    "keydown",
    (e) => {
      if (e.key !== "Escape") return;
      for (const m of doc.querySelectorAll(".aisw-scatter[data-active]")) {
        m.removeAttribute("data-active");
      }
    },
    true,
  );
  doc.addEventListener(
    "wheel",
    (e) => {
      const map = e.target instanceof Element ? e.target.closest(".aisw-scatter") : null;
      if (!map || map.hasAttribute("data-active") || e.ctrlKey || e.metaKey) return;
      e.stopPropagation();
      map.setAttribute("data-wheel-hint", "");
      clearTimeout(map[FLAG]);
      map[FLAG] = setTimeout(() => map.removeAttribute("data-wheel-hint"), HINT_MS);
    },
    { capture: true, passive: true },
  );
}

// Resizing: the map's frame has a CSS resize handle (bottom right); its new height is
// sent to Python (the guard's `height`), which sets the plot's height to match.
function watchSize(el, model) {
  let tries = 0;
  let seen = null;
  const attach = () => {
    const frame = el.closest(".aisw-mapframe");
    if (!frame) {
      // The guard is put in the frame once the plot beside it has rendered (seconds,
      // the first time jupyter-scatter's bundle loads): wait for it, up to a minute.
      if (tries++ < 600) setTimeout(attach, 100);
      return;
    }
    let last = frame.clientHeight;
    seen = new ResizeObserver(() => {
      const h = Math.round(frame.clientHeight);
      // Only a drag of the handle sets an explicit height on the frame.
      if (!frame.style.height || Math.abs(h - last) < 4) return;
      last = h;
      model.set("height", h);
      model.save_changes();
    });
    seen.observe(frame);
  };
  attach();
  return () => {
    tries = Infinity;
    if (seen) seen.disconnect();
  };
}

// The hover thumbnail: jupyter-scatter's tooltip shows URL columns only, and our
// thumbnails live in the kernel. Python sends {type: "hover", id, name} with the JPEG
// (id null: off every point); it is shown beside the cursor, the name as text. The
// tooltip lives on document.body (fixed), so the map's frame never clips it.
const GAP = 16; // px between the cursor and the tooltip

function hoverTip(el, model) {
  const doc = el.ownerDocument;
  const tip = doc.createElement("div");
  tip.className = "aisw-map-tip";
  tip.hidden = true;
  const img = doc.createElement("img");
  img.alt = "";
  const name = doc.createElement("div");
  name.className = "aisw-map-tip-name";
  tip.append(img, name);
  let url = null;
  let at = null; // the cursor over a map: {x, y, map}
  let frame = null;

  const place = () => {
    if (!at || tip.hidden) return;
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    const view = doc.defaultView;
    let x = at.x + GAP;
    let y = at.y + GAP;
    if (x + w > view.innerWidth - 4) x = Math.max(4, at.x - GAP - w);
    if (y + h > view.innerHeight - 4) y = Math.max(4, at.y - GAP - h);
    tip.style.left = `${x}px`;
    tip.style.top = `${y}px`;
  };
  const hide = () => {
    tip.hidden = true;
    if (url) URL.revokeObjectURL(url);
    url = null;
    img.removeAttribute("src");
  };
  const onMove = (e) => {
    const map = e.target instanceof Element ? e.target.closest(".aisw-mapframe") : null;
    if (!frame) frame = el.closest(".aisw-mapframe");
    if (!map || map !== frame) {
      if (at) hide();
      at = null;
      return;
    }
    at = { x: e.clientX, y: e.clientY };
    place();
  };
  doc.addEventListener("pointermove", onMove, { capture: true, passive: true });
  const onMsg = (msg, buffers) => {
    if (!msg || msg.type !== "hover") return;
    if (msg.id === null || !at) return hide();
    if (url) URL.revokeObjectURL(url);
    url = null;
    if (buffers && buffers.length && buffers[0].byteLength) {
      url = URL.createObjectURL(new Blob([buffers[0]], { type: "image/jpeg" }));
      img.src = url;
      img.hidden = false;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
    }
    name.textContent = typeof msg.name === "string" ? msg.name : "";
    tip.dataset.id = String(msg.id);
    if (!tip.isConnected) doc.body.append(tip);
    tip.hidden = false;
    place();
    img.onload = place;
  };
  model.on("msg:custom", onMsg);
  return () => {
    model.off("msg:custom", onMsg);
    doc.removeEventListener("pointermove", onMove, { capture: true });
    hide();
    tip.remove();
  };
}

export default {
  render({ el, model }) {
    install(el.ownerDocument);
    const unwatch = watchSize(el, model);
    const untip = hoverTip(el, model);
    return () => {
      unwatch();
      untip();
    };
  },
};
