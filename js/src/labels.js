// Labels in the gallery (Project.labels): chips on the cards, the label filter of the
// toolbar (with the label set when the project has several), and the boxes of an
// image drawn over its preview. Labels and boxes come from Python (a page's labels
// with its items, an image's boxes with its details); every label is text.
import { h, clear } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const CHIPS = 3; // label chips on a card; the others are counted ("+2")

/** The label chips of a card (`labels`: its labels); a click shows only that label. */
export function labelChips(labels, pick) {
  const list = labels || [];
  const row = h("div", { class: "aisw-card-labels", title: list.length ? `Labels: ${list.join(", ")}` : null }, [
    ...list.slice(0, CHIPS).map((l) => h("span", {
      class: "aisw-label-chip",
      text: l,
      title: `Show only the images labelled ${l}`,
      dataset: { label: l },
      on: { click: (e) => { e.stopPropagation(); pick(l); } },
    })),
    list.length > CHIPS ? h("span", { class: "aisw-tag-more", text: `+${list.length - CHIPS}` }) : null,
  ]);
  row.hidden = list.length === 0;
  return row;
}

/** The toolbar's label filter: {el, set(label)}; hidden while nothing is labelled. */
export function createLabelFilter(model) {
  const setSel = h("select", { class: "aisw-label-set", "aria-label": "Label set shown" });
  const labelSel = h("select", { class: "aisw-label-filter", "aria-label": "Show only the images with this label" });
  // Each select inside its own label: a label names its first control only.
  const setWrap = h("label", { class: "aisw-field-wrap", hidden: true }, [h("span", { class: "aisw-muted", text: "Label set" }), setSel]);
  const el = h("span", { class: "aisw-label-filter-wrap", hidden: true }, [
    setWrap, h("label", { class: "aisw-field-wrap" }, [h("span", { class: "aisw-muted", text: "Label" }), labelSel]),
  ]);
  const write = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  function update() {
    const sets = model.get("label_sets") || [];
    const labels = [...(model.get("labels") || [])];
    const chosen = model.get("label_filter");
    clear(setSel);
    for (const s of sets) setSel.append(h("option", { value: s, text: s }));
    setSel.value = sets.includes(model.get("label_set")) ? model.get("label_set") : sets[0] || "";
    setWrap.hidden = sets.length < 2;
    clear(labelSel);
    labelSel.append(h("option", { value: "", text: "All images" }));
    if (chosen && !labels.some((l) => l.label === chosen)) labels.unshift({ label: chosen, n: 0 });
    for (const l of labels) labelSel.append(h("option", { value: l.label, text: `${l.label} (${l.n})` }));
    labelSel.value = chosen || "";
    el.hidden = sets.length === 0;
    el.classList.toggle("aisw-tag-filter-on", Boolean(chosen));
  }
  labelSel.addEventListener("change", () => write("label_filter", labelSel.value));
  setSel.addEventListener("change", () => write("label_set", setSel.value));
  model.on("change:labels change:label_sets change:label_set change:label_filter", update);
  update();
  return { el, set: (label) => write("label_filter", label) };
}

/**
 * The boxes of an image over its preview: an SVG laid over the image's box whose
 * viewBox is the original's pixels, scaled as the image is (object-fit: contain ↔
 * preserveAspectRatio meet), so a box in original-image pixels lands on the drawn
 * image at any size. `d`: the details (width, height, boxes).
 */
export function drawBoxes(svg, d) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const boxes = (d && d.boxes) || [];
  const ok = boxes.length > 0 && d.width > 0 && d.height > 0;
  svg.style.display = ok ? "" : "none";
  if (!ok) return;
  svg.setAttribute("viewBox", `0 0 ${d.width} ${d.height}`);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const font = Math.max(d.width, d.height) / 40;
  for (const b of boxes) {
    const g = document.createElementNS(SVG, "g");
    g.setAttribute("class", "aisw-box");
    const rect = document.createElementNS(SVG, "rect");
    for (const [k, v] of [["x", b.x], ["y", b.y], ["width", b.w], ["height", b.h]]) rect.setAttribute(k, String(v));
    rect.setAttribute("vector-effect", "non-scaling-stroke");
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", String(b.x));
    text.setAttribute("y", String(Math.max(font, b.y - font * 0.3)));
    text.setAttribute("font-size", String(font));
    const conf = typeof b.confidence === "number" ? ` ${b.confidence.toFixed(2)}` : "";
    text.textContent = `${b.label}${conf}`;
    g.append(rect, text);
    svg.append(g);
  }
}

/** An empty SVG for drawBoxes, to put over the preview. */
export function boxLayer() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "aisw-lb-boxes");
  svg.setAttribute("aria-hidden", "true");
  svg.style.display = "none";
  return svg;
}
