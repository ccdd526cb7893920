// "Search in:" and the filter chips, under the search bar: where Prompt, Similar,
// Diverse, Duplicates and Outliers search. The scope is Python's (the `scope` trait:
// {within, name, results_title, filters: [{kind, ..., label}], text, n}); a change is
// a SET_SCOPE request carrying structured values only (a tag, a folder, dates, pixel
// sizes, an issue name), which Python checks and turns into `where=`. Every string
// from data reaches the DOM as text.
import { h, clear } from "./dom.js";
import { ISSUES, Request } from "./protocol.js";

const KINDS = [
  ["tag", "Tag"],
  ["folder", "Folder"],
  ["date", "Date range"],
  ["size", "Least size"],
  ["quality", "Quality issue"],
];
const issueName = (i) => i.replace(/_/g, " ");

/** `field(label, input)`: a labelled field (controls.js). Returns the bar's element. */
export function createScopeBar({ model, send, field }) {
  const within = h("select", { class: "aisw-scope-within" });
  const count = h("span", { class: "aisw-muted aisw-scope-count", "aria-live": "polite" });
  const chips = h("span", { class: "aisw-scope-chips", role: "list", "aria-label": "Filters" });
  const addSel = h("select", { class: "aisw-scope-add" }, [
    h("option", { value: "", text: "Add a filter…" }),
    ...KINDS.map(([k, text]) => h("option", { value: k, text })),
  ]);
  const editor = h("form", { class: "aisw-row aisw-scope-editor", hidden: true, "data-lm-suppress-shortcuts": "true" });
  const bar = h("div", { class: "aisw-scope", dataset: { scope: "" } }, [
    h("div", { class: "aisw-row" }, [field("Search in", within), count, chips, field("Filter", addSel)]),
    editor,
  ]);
  let options = null; // what the editor offers (asked for once, when first opened)

  const scope = () => model.get("scope") || {};
  const plain = () => (scope().filters || []).map(({ label, ...f }) => f);
  // The same place, other filters: "kept" keeps the results already chosen.
  const place = () => {
    const s = scope();
    return [s.within || "project", s.within === "results" ? "kept" : s.name || ""];
  };
  function setScope(w, name, filters, then = () => {}) {
    send(Request.SET_SCOPE, { within: w, name, filters }, (reply) => {
      if (!reply.ok) render(); // the picker goes back to the scope Python kept
      then(reply);
    });
  }

  within.addEventListener("change", () => {
    const v = within.value;
    if (v.startsWith("c:")) setScope("collection", v.slice(2), plain());
    else setScope(v, "", plain());
  });

  function render() {
    const s = scope();
    clear(within);
    within.append(h("option", { value: "project", text: "Whole project" }));
    for (const name of model.get("collections") || []) {
      within.append(h("option", { value: `c:${name}`, text: `Collection ‘${name}’` }));
    }
    within.append(h("option", {
      value: "results",
      text: s.within === "results" ? `Results of ${s.results_title}` : "The results shown now",
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
          text: "×",
          title: "Remove this filter",
          "aria-label": `Remove the filter ${f.label}`,
          on: { click: () => setScope(...place(), rest) },
        }),
      ]));
    }
    const narrowed = s.within && (s.within !== "project" || (s.filters || []).length);
    count.textContent = narrowed && s.n !== null && s.n !== undefined ? `${s.n} ${s.n === 1 ? "image" : "images"} in scope` : "";
    bar.classList.toggle("aisw-scope-on", Boolean(narrowed));
  }

  // -- the filter editor: one kind at a time, every field labelled --------------------------
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
      editor.append(field("Tag", tag), list);
      read = () => ({ kind, tag: tag.value });
    } else if (kind === "folder") {
      const list = hints(o.folders);
      const folder = input({ class: "aisw-scope-folder", list: list.id, placeholder: "e.g. line3/" });
      editor.append(field("Folder (in its source)", folder), list);
      read = () => ({ kind, folder: folder.value });
    } else if (kind === "date") {
      const by = h("select", { class: "aisw-scope-by" }, [
        h("option", { value: "taken", text: "taken (camera)" }),
        h("option", { value: "modified", text: "file modified" }),
      ]);
      const from = h("input", { type: "date", class: "aisw-scope-from" });
      const to = h("input", { type: "date", class: "aisw-scope-to" });
      editor.append(field("Date", by), field("From", from), field("To", to));
      read = () => ({ kind, by: by.value, from: from.value, to: to.value });
    } else if (kind === "size") {
      const w = h("input", { type: "number", min: "0", step: "1", class: "aisw-scope-width" });
      const ht = h("input", { type: "number", min: "0", step: "1", class: "aisw-scope-height" });
      editor.append(field("Width at least (px)", w), field("Height at least (px)", ht));
      const px = (el) => (el.value === "" ? 0 : Number.parseInt(el.value, 10));
      read = () => ({ kind, min_width: px(w), min_height: px(ht) });
    } else {
      const issue = h("select", { class: "aisw-scope-issue" }, o.issues.map((i) => h("option", { value: i, text: issueName(i) })));
      editor.append(field("Issue", issue));
      read = () => ({ kind, issue: issue.value });
    }
    editor.append(
      h("button", { type: "submit", class: "aisw-btn aisw-primary aisw-scope-apply", text: "Add filter" }),
      h("button", { type: "button", class: "aisw-btn", text: "Cancel", on: { click: closeEditor } }),
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
    e.stopPropagation(); // typing here is not a notebook command
    if (e.key === "Escape") closeEditor();
  });

  model.on("change:scope change:collections", render);
  render();
  return bar;
}
