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

export default {
  render({ el, model }) {
    install(el.ownerDocument);
    return watchSize(el, model);
  },
};
