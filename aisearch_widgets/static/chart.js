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

// src/chart.js
var NS = "http://www.w3.org/2000/svg";
var HEIGHT = 150;
var M = { left: 44, right: 14, top: 22, bottom: 28 };
function s(tag, attrs = {}, text = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}
function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw > 0 ? raw : 0.01));
  const step = [1, 2, 5, 10].map((m) => m * p).find((v) => v >= raw) || 10 * p;
  return [step, Math.max(0, -Math.floor(Math.log10(step) + 1e-9))];
}
var fmt = (v) => typeof v === "number" && Number.isFinite(v) ? v.toFixed(3) : "\u2013";
function render({ model, el }) {
  el.classList.add("aisw", "aisw-chart");
  el.dataset.lmSuppressShortcuts = "true";
  const message = h("div", { class: "aisw-message", hidden: true });
  const send = requester(model, message);
  const box = h("input", {
    type: "text",
    inputmode: "decimal",
    class: "aisw-threshold",
    id: `aisw-threshold-${Math.random().toString(36).slice(2, 8)}`,
    title: "Type a threshold and press Enter",
    autocomplete: "off"
  });
  const sideBtn = (text, cls, title, fn) => h("button", { class: `aisw-btn aisw-seg ${cls}`, text, title, "aria-pressed": "false", on: { click: fn } });
  const side = () => model.get("filter") === ScoreFilter.BELOW ? Side.BELOW : Side.ABOVE;
  const aboveBtn = sideBtn(
    "Above",
    "aisw-show-above",
    "Show the results at or above the threshold",
    () => send(Request.SET_THRESHOLD, { side: Side.ABOVE, value: model.get("threshold") })
  );
  const belowBtn = sideBtn(
    "Below",
    "aisw-show-below",
    "Show the results below the threshold (the edge cases)",
    () => send(Request.SET_THRESHOLD, { side: Side.BELOW, value: model.get("threshold") })
  );
  const allBtn = sideBtn(
    "All",
    "aisw-show-all",
    "No score filter: show the whole result",
    () => send(Request.FULL_RANGE)
  );
  const suggestedBtn = h("button", {
    class: "aisw-btn aisw-suggested",
    on: {
      click: () => {
        const t = model.get("suggested");
        if (t !== null) send(Request.SET_THRESHOLD, { side: Side.ABOVE, value: t });
      }
    }
  });
  const rangeText = h("span", { class: "aisw-muted aisw-range", "aria-live": "polite" });
  const row = h("div", { class: "aisw-row aisw-chart-row" }, [
    h("label", { class: "aisw-field-label", for: box.id, text: "Threshold" }),
    box,
    h("span", { class: "aisw-group", role: "group", "aria-label": "Show" }, [
      h("span", { class: "aisw-muted", text: "show" }),
      aboveBtn,
      belowBtn,
      allBtn
    ]),
    suggestedBtn,
    rangeText
  ]);
  const svg = s("svg", { class: "aisw-chart-svg", height: HEIGHT, role: "img" });
  svg.setAttribute("aria-label", "Histogram of the result's scores");
  const plot = h("div", { class: "aisw-chart-plot" }, [svg]);
  el.append(row, plot, message);
  let width = 600;
  let drag = null;
  const edges = () => model.get("edges");
  const domain = () => {
    const e = edges();
    const lo = e[0];
    const hi = e[e.length - 1];
    const pad = Math.max((hi - lo) * 0.02, 2e-3);
    return [lo - pad, hi + pad];
  };
  const innerW = () => Math.max(50, width - M.left - M.right);
  const x = (v) => {
    const [a, b] = domain();
    return M.left + (v - a) / (b - a) * innerW();
  };
  const xValue = (px2) => {
    const [a, b] = domain();
    return a + (px2 - M.left) / innerW() * (b - a);
  };
  const clampScore = (v) => {
    const e = edges();
    return Math.min(Math.max(v, e[0]), e[e.length - 1]);
  };
  const round3 = (v) => Math.round(v * 1e3) / 1e3;
  const snapDown = (v) => edges().filter((e) => e <= v).pop() ?? edges()[0];
  const snapUp = (v) => edges().find((e) => e >= v) ?? edges()[edges().length - 1];
  function shadeRange(t) {
    if (drag && drag.kind === "brush") {
      const [a, b] = [Math.min(drag.x0, drag.x1), Math.max(drag.x0, drag.x1)];
      return [clampScore(xValue(a)), clampScore(xValue(b))];
    }
    const e = edges();
    const kind = model.get("filter");
    if (kind === ScoreFilter.ABOVE) return [t, e[e.length - 1]];
    if (kind === ScoreFilter.BELOW) return [e[0], t];
    if (kind === ScoreFilter.BETWEEN) return [model.get("lo") ?? e[0], model.get("hi") ?? e[e.length - 1]];
    return null;
  }
  function draw() {
    const counts = model.get("counts");
    el.classList.toggle("aisw-chart-empty", counts.length === 0);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    if (!counts.length) return;
    svg.setAttribute("width", width);
    const e = edges();
    const top = Math.max(1, ...counts);
    const base = HEIGHT - M.bottom;
    const y = (n) => base - n / top * (base - M.top);
    const t = drag && drag.kind === "line" ? drag.value : model.get("threshold");
    const shade = shadeRange(t);
    if (shade) {
      svg.append(s("rect", {
        class: "aisw-chart-shade",
        x: x(shade[0]),
        y: M.top - 4,
        width: Math.max(0, x(shade[1]) - x(shade[0])),
        height: base - M.top + 4
      }));
    }
    counts.forEach((n, i) => {
      const x0 = x(e[i]);
      const w = Math.max(1, x(e[i + 1]) - x0 - 1);
      const mid = (e[i] + e[i + 1]) / 2;
      const inside = !shade || mid >= shade[0] - 1e-9 && mid <= shade[1] + 1e-9;
      const bar = s("rect", {
        class: `aisw-bar${inside ? "" : " aisw-bar-out"}`,
        x: x0,
        y: y(n),
        width: w,
        height: base - y(n)
      });
      bar.append(s("title", {}, `${fmt(e[i])} \u2013 ${fmt(e[i + 1])}: ${n} ${n === 1 ? "image" : "images"}`));
      svg.append(bar);
    });
    svg.append(s("line", { class: "aisw-axis", x1: M.left, x2: M.left + innerW(), y1: base, y2: base }));
    const [step, digits] = niceStep((e[e.length - 1] - e[0]) / Math.max(2, Math.min(10, innerW() / 90)));
    for (let v = Math.ceil(e[0] / step) * step; v <= e[e.length - 1] + step * 1e-6; v += step) {
      svg.append(s("line", { class: "aisw-axis", x1: x(v), x2: x(v), y1: base, y2: base + 4 }));
      const text = Math.abs(v) < step / 2 ? "0" : v.toFixed(digits);
      svg.append(s("text", { class: "aisw-tick", x: x(v), y: base + 15, "text-anchor": "middle" }, text));
    }
    svg.append(s("text", { class: "aisw-tick", x: M.left + innerW(), y: HEIGHT - 1, "text-anchor": "end" }, "similarity score"));
    for (const v of [0, top]) {
      svg.append(s("text", { class: "aisw-tick", x: M.left - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)));
    }
    svg.append(s("text", { class: "aisw-tick", x: 2, y: M.top - 8 }, "images"));
    const sug = model.get("suggested");
    if (sug !== null && Number.isFinite(sug)) {
      svg.append(s("line", { class: "aisw-suggested-line", x1: x(sug), x2: x(sug), y1: M.top, y2: base }));
      const right = x(sug) > width - 130;
      svg.append(s("text", {
        class: "aisw-suggested-label",
        x: x(sug) + (right ? -4 : 4),
        y: M.top + 10,
        "text-anchor": right ? "end" : "start"
      }, `suggested ${sug.toFixed(2)}`));
    }
    if (Number.isFinite(t)) {
      const tx = x(clampScore(t));
      const g = s("g", {
        class: "aisw-threshold-line",
        tabindex: "0",
        role: "slider",
        "aria-label": "Threshold",
        "aria-valuenow": t.toFixed(3),
        "aria-valuemin": e[0].toFixed(3),
        "aria-valuemax": e[e.length - 1].toFixed(3)
      });
      g.append(
        s("line", { class: "aisw-threshold-stroke", x1: tx, x2: tx, y1: M.top - 6, y2: base }),
        s("rect", { class: "aisw-threshold-handle", x: tx - 6, y: M.top - 10, width: 12, height: 12, rx: 2 }),
        s("rect", { class: "aisw-threshold-hit", x: tx - 7, y: M.top - 10, width: 14, height: base - M.top + 10 })
      );
      if (sug === null || Math.abs(t - sug) >= 5e-4) {
        const right = tx > width - 60;
        g.append(s("text", {
          class: "aisw-threshold-label",
          x: tx + (right ? -9 : 9),
          y: M.top,
          "text-anchor": right ? "end" : "start"
        }, t.toFixed(3)));
      }
      svg.append(g);
    }
  }
  function updateRow() {
    const kind = model.get("filter");
    const t = drag && drag.kind === "line" ? drag.value : model.get("threshold");
    if (document.activeElement !== box) box.value = fmt(t);
    for (const [btn, k] of [[aboveBtn, ScoreFilter.ABOVE], [belowBtn, ScoreFilter.BELOW], [allBtn, ScoreFilter.ALL]]) {
      btn.setAttribute("aria-pressed", String(kind === k));
      btn.classList.toggle("aisw-on", kind === k);
    }
    const sug = model.get("suggested");
    suggestedBtn.disabled = sug === null;
    suggestedBtn.textContent = sug === null ? "No suggested cut" : `Use suggested ${sug.toFixed(3)}`;
    suggestedBtn.title = sug === null ? "These scores show no clear cut: choose a threshold yourself" : "Show the results at or above the suggested cut";
    const lo = model.get("lo");
    const hi = model.get("hi");
    rangeText.textContent = kind === ScoreFilter.ALL ? "all scores" : kind === ScoreFilter.BETWEEN ? `range ${fmt(lo)} \u2013 ${fmt(hi)}` : "";
  }
  const update = () => {
    updateRow();
    draw();
  };
  const px = (ev) => ev.clientX - svg.getBoundingClientRect().left;
  const applyLine = (value) => send(Request.SET_THRESHOLD, { side: side(), value: round3(clampScore(value)) });
  svg.addEventListener("pointerdown", (ev) => {
    if (!model.get("counts").length || ev.button !== 0) return;
    ev.preventDefault();
    const onLine = ev.target.closest && ev.target.closest(".aisw-threshold-line");
    drag = onLine ? { kind: "line", value: model.get("threshold") } : { kind: "brush", x0: px(ev), x1: px(ev) };
    svg.setPointerCapture(ev.pointerId);
    el.classList.add("aisw-dragging");
  });
  svg.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    if (drag.kind === "line") drag.value = round3(clampScore(xValue(px(ev))));
    else drag.x1 = px(ev);
    update();
  });
  const finish = (ev, apply) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    el.classList.remove("aisw-dragging");
    if (svg.hasPointerCapture(ev.pointerId)) svg.releasePointerCapture(ev.pointerId);
    if (apply && d.kind === "line") applyLine(d.value);
    else if (apply && Math.abs(d.x1 - d.x0) < 4) applyLine(xValue(d.x0));
    else if (apply) {
      const a = clampScore(xValue(Math.min(d.x0, d.x1)));
      const b = clampScore(xValue(Math.max(d.x0, d.x1)));
      send(Request.SET_RANGE, { lo: snapDown(a), hi: snapUp(b) });
    }
    update();
  };
  svg.addEventListener("pointerup", (ev) => finish(ev, true));
  svg.addEventListener("pointercancel", (ev) => finish(ev, false));
  let keyTimer = null;
  svg.addEventListener("keydown", (ev) => {
    if (!ev.target.closest || !ev.target.closest(".aisw-threshold-line")) return;
    if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") return;
    ev.preventDefault();
    ev.stopPropagation();
    const step = (ev.shiftKey ? 0.01 : 1e-3) * (ev.key === "ArrowLeft" ? -1 : 1);
    const from = drag && drag.kind === "line" ? drag.value : model.get("threshold");
    drag = { kind: "line", value: round3(clampScore(from + step)) };
    update();
    svg.querySelector(".aisw-threshold-line")?.focus();
    clearTimeout(keyTimer);
    keyTimer = setTimeout(() => {
      const v = drag.value;
      drag = null;
      applyLine(v);
    }, 250);
  });
  box.addEventListener("keydown", (ev) => {
    ev.stopPropagation();
    if (ev.key === "Enter") {
      ev.preventDefault();
      const v = Number.parseFloat(box.value.replace(",", "."));
      if (!Number.isFinite(v)) {
        showMessage(message, "Type a number, e.g. 0.25.", "error");
        return;
      }
      showMessage(message, "", "info");
      send(Request.SET_THRESHOLD, { side: side(), value: v });
      box.select();
    } else if (ev.key === "Escape") {
      box.value = fmt(model.get("threshold"));
      box.blur();
    }
  });
  box.addEventListener("blur", () => box.value = fmt(model.get("threshold")));
  const resize = new ResizeObserver(() => {
    const w = Math.floor(plot.clientWidth);
    if (w > 0 && w !== width) {
      width = w;
      draw();
    }
  });
  resize.observe(plot);
  model.on("change:counts change:edges change:threshold change:suggested change:filter change:lo change:hi", update);
  model.on(
    "change:message change:message_kind",
    () => showMessage(message, model.get("message"), model.get("message_kind"))
  );
  update();
  return () => {
    resize.disconnect();
    clearTimeout(keyTimer);
  };
}
var chart_default = { render };
export {
  chart_default as default
};
