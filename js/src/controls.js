// Header (project status, enable/disable, update now) and the search bar with its
// modes: Prompt | Diverse | Similar | Duplicates | Outliers. Searches are requests carrying their
// parameters; Python runs them through the public API. The traits of the same names
// (prompt, limit, n, method, clusters) are what Python ran: shown, never written here.
import { h, clear, showMessage } from "./dom.js";
import { BACKGROUND, ISSUES, Method, Mode, Request, State } from "./protocol.js";
import { intValue, requester } from "./requests.js";
import { createScopeBar } from "./scope.js";

const MODES = [
  [Mode.PROMPT, "Prompt"],
  [Mode.DIVERSE, "Diverse"],
  [Mode.SIMILAR, "Similar"],
  [Mode.DUPLICATES, "Duplicates"],
  [Mode.OUTLIERS, "Outliers"],
];

let uid = 0;
function numberInput(value, min, title, cls) {
  return h("input", { type: "number", min: String(min), step: "1", value: String(value), title, class: cls });
}

/** A field with its visible label (not only a placeholder): `<label>text [input]</label>`. */
function field(text, input, cls = "") {
  if (!input.id) input.id = `aisw-f${++uid}-${Math.random().toString(36).slice(2, 6)}`;
  return h("span", { class: `aisw-field-wrap ${cls}` }, [
    h("label", { class: "aisw-field-label", for: input.id, text }),
    input,
  ]);
}

const num = (n) => Number(n).toLocaleString("en-US");

function render({ model, el }) {
  el.classList.add("aisw", "aisw-controls");
  const message = h("div", { class: "aisw-message", hidden: true });
  const request = requester(model, message);

  // -- the spinner: shown at once for every request that runs in the background
  // (searches, samples, enabling), until its reply; Cancel stops waiting for it.
  const spinnerText = h("span", { class: "aisw-busy-text" });
  const cancelBtn = h("button", {
    class: "aisw-btn aisw-cancel",
    text: "Cancel",
    title: "Stop this: its result is not shown",
    on: { click: () => request(Request.CANCEL) },
  });
  const busyBox = h("span", { class: "aisw-busy-box", role: "status", hidden: true }, [
    h("span", { class: "aisw-spinner", "aria-hidden": "true" }),
    spinnerText,
    cancelBtn,
  ]);
  const pending = new Map(); // rid -> label, for the requests sent from this view
  let since = 0;
  let tick = null;
  const LOCAL = {
    [Request.SEARCH_PROMPT]: "Searching",
    [Request.SEARCH_DIVERSE]: "Sampling",
    [Request.SEARCH_SIMILAR]: "Searching similar images",
    [Request.SEARCH_DUPLICATES]: "Finding duplicates",
    [Request.SEARCH_OUTLIERS]: "Finding outliers",
    [Request.SEARCH_QUALITY]: "Finding quality issues",
  };
  function updateBusy() {
    const labels = [...pending.values()];
    const label = model.get("busy_label") || labels[labels.length - 1] || "";
    const busy = Boolean(label);
    if (busy && !since) since = performance.now();
    if (!busy) since = 0;
    busyBox.hidden = !busy;
    el.classList.toggle("aisw-busy", busy);
    // A map drawn for a call from Python blocks the kernel: Cancel could not reach it
    // ("Building the map", for the page's button, can be cancelled).
    cancelBtn.hidden = !busy || label === "Enabling" || label === "Disabling" || label === "Drawing the map";
    if (busy) {
      const s = (performance.now() - since) / 1000;
      spinnerText.textContent = s >= 1 ? `${label}… ${s.toFixed(0)} s` : `${label}…`;
      if (!tick) tick = setInterval(updateBusy, 250);
    } else if (tick) {
      clearInterval(tick);
      tick = null;
    }
    updateButtons();
  }
  const send = (type, fields = {}, onReply = () => {}) => {
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
    updateBusy(); // at once: the spinner does not wait for the kernel
    return rid;
  };

  // -- header ------------------------------------------------------------------
  const title = h("span", { class: "aisw-title" });
  const modelName = h("span", { class: "aisw-muted aisw-model" });
  const statusText = h("span", { class: "aisw-status", "aria-live": "polite" });
  const bar = h("progress", { class: "aisw-progress", max: "1", value: "0" });
  const enableBtn = h("button", {
    class: "aisw-btn",
    on: { click: () => send(Request.TOGGLE_ENABLED) },
  });
  const updateBtn = h("button", {
    class: "aisw-btn",
    text: "Update now",
    title: "Embed new and changed images now",
    on: { click: () => send(Request.UPDATE_NOW) },
  });
  const header = h("div", { class: "aisw-header" }, [
    h("span", { class: "aisw-group aisw-ident" }, [title, modelName]),
    h("span", { class: "aisw-group aisw-sync" }, [statusText, bar]),
    h("span", { class: "aisw-spacer" }),
    h("span", { class: "aisw-group" }, [enableBtn, updateBtn]),
  ]);
  const notice = h("div", { class: "aisw-notice", hidden: true });

  // -- mode tabs ---------------------------------------------------------------
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
          model.set("mode", mode); // the tab is view state the front end owns too
          model.save_changes();
        },
      },
    });
    tabButtons[mode] = b;
    tabs.append(b);
  }

  // -- prompt ------------------------------------------------------------------
  const promptInput = h("input", {
    type: "text",
    class: "aisw-prompt",
    placeholder: "Describe what to find, e.g. “a red circle on a dark background”",
    "aria-label": "Search prompt",
  });
  const limitInput = numberInput(model.get("limit"), 1, "Result limit", "aisw-limit");
  const searchBtn = h("button", { class: "aisw-btn aisw-primary", text: "Search" });
  const runPrompt = () =>
    send(Request.SEARCH_PROMPT, {
      prompt: promptInput.value,
      limit: intValue(limitInput, model.get("limit")),
    });
  promptInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      runPrompt();
    }
  });
  searchBtn.addEventListener("click", runPrompt);
  const promptRow = h("div", { class: "aisw-row", dataset: { pane: "prompt" } }, [
    field("Find", promptInput, "aisw-grow"), field("Limit", limitInput), searchBtn,
  ]);

  // -- diverse -----------------------------------------------------------------
  const methodSel = h("select", { class: "aisw-method", "aria-label": "Sampling method" }, [
    h("option", { value: Method.CENTROIDS, text: "nearest to centroid" }),
    h("option", { value: Method.RANDOM, text: "random per cluster" }),
  ]);
  const nInput = numberInput(model.get("n"), 1, "Number of samples", "aisw-n");
  const clustersInput = numberInput(model.get("clusters"), 0, "Clusters (0 = as many as samples)", "aisw-clusters");
  const sampleBtn = h("button", { class: "aisw-btn aisw-primary", text: "Sample" });
  sampleBtn.addEventListener("click", () =>
    send(Request.SEARCH_DIVERSE, {
      n: intValue(nInput, model.get("n")),
      method: methodSel.value,
      clusters: intValue(clustersInput, 0),
    }),
  );
  const diverseRow = h("div", { class: "aisw-row", dataset: { pane: "diverse" } }, [
    field("Method", methodSel), field("Samples", nInput), field("Clusters", clustersInput),
    sampleBtn,
  ]);

  // -- similar -----------------------------------------------------------------
  const chips = h("div", { class: "aisw-chips" });
  const simLimit = numberInput(model.get("limit"), 1, "Result limit", "aisw-limit");
  const simBtn = h("button", { class: "aisw-btn aisw-primary", text: "Search similar" });
  simBtn.addEventListener("click", () =>
    send(Request.SEARCH_SIMILAR, {
      ids: model.get("references").map((r) => r.id),
      limit: intValue(simLimit, model.get("limit")),
    }),
  );
  const similarRow = h("div", { class: "aisw-row", dataset: { pane: "similar" } }, [
    chips, field("Limit", simLimit), simBtn,
  ]);

  // -- duplicates and outliers -------------------------------------------------------
  const dupBtn = h("button", {
    class: "aisw-btn aisw-primary aisw-find-duplicates",
    text: "Find duplicates",
    title: "Exact copies and re-encoded, resized or lightly cropped ones",
    on: { click: () => send(Request.SEARCH_DUPLICATES) },
  });
  const duplicatesRow = h("div", { class: "aisw-row", dataset: { pane: Mode.DUPLICATES } }, [
    h("span", { class: "aisw-muted", text: "Groups of copies, biggest first. The copy proposed to keep is marked; nothing goes to the trash until you confirm a group (or all)." }),
    dupBtn,
  ]);
  const outN = numberInput(model.get("limit"), 1, "How many", "aisw-limit aisw-outliers-n");
  // Outliers, or the images with a quality issue (blurry, dark …; Project.quality_issues).
  const outKind = h("select", { class: "aisw-outliers-kind" }, [
    h("option", { value: "", text: "Unusual images (outliers)" }),
    h("option", { value: "any", text: "Quality issues: any" }),
    ...ISSUES.map((i) => h("option", { value: i, text: `Quality issue: ${i.replace(/_/g, " ")}` })),
  ]);
  const outBtn = h("button", { class: "aisw-btn aisw-primary aisw-find-outliers", text: "Find outliers" });
  const outHint = h("span", { class: "aisw-muted aisw-outliers-hint" });
  const outNField = field("How many", outN);
  function updateOutKind() {
    const issue = outKind.value;
    outBtn.textContent = issue ? "Find quality issues" : "Find outliers";
    outHint.textContent = issue
      ? "Images judged against this project (blur, brightness, contrast, information, size), worst first."
      : "The most unusual images first (broken, off-domain, rare).";
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
    field("Find", outKind), outNField, outBtn, outHint,
  ]);
  const rows = [promptRow, diverseRow, similarRow, duplicatesRow, outliersRow];

  tabs.append(h("span", { class: "aisw-spacer" }), busyBox);
  const scopeBar = createScopeBar({ model, send, field });
  el.append(header, notice, tabs, ...rows, scopeBar, message);

  // -- model → DOM ---------------------------------------------------------------
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
    let text = `${state} · ${num(done)}/${num(total)} embedded`;
    if (failed) text += ` · ${num(failed)} failed`;
    const left = model.get("eta_text");
    if (state === State.INDEXING && left) text += ` · ${left}`;
    statusText.textContent = text;
    bar.max = Math.max(total, 1);
    bar.value = Math.min(done + failed, Math.max(total, 1));
    bar.hidden = state !== State.INDEXING;
    const ready = model.get("ready");
    notice.hidden = ready;
    notice.textContent = ready
      ? ""
      : state === State.INDEXING
        ? "Search is unavailable while embeddings are being prepared."
        : "AI search is not enabled for this project yet: press “Enable AI search”.";
    updateButtons();
  }
  function updateButtons() {
    const busy = model.get("busy") || pending.size > 0;
    const ready = model.get("ready");
    // A search can always replace the running one; nothing runs before the first pass.
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
            text: "×",
            title: "Remove",
            "aria-label": `Remove ${r.name}`,
            on: { click: () => send(Request.REMOVE_REFERENCE, { id: r.id }) },
          }),
        ]),
      );
    }
  }
  function updateMessage() {
    showMessage(message, model.get("message"), model.get("message_kind"));
  }
  function updateInputs() {
    // What Python ran last; an input the user is typing in is left alone.
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

export default { render };
