// Relevance feedback on the cards: a 👍 and a 👎 toggle per card (keys on the focused
// card: "+" marks positive, "-" negative, the same key again clears). The marks live
// in Python (the gallery's `marks`: id → "up" | "down"); a card only shows them.
import { h } from "./dom.js";
import { Request } from "./protocol.js";

/** The two toggles of a card; `send` is the gallery's requester. */
export function feedbackButtons(id, name, model, send) {
  const make = (mark, text, what) => h("button", {
    class: `aisw-mark aisw-mark-${mark}`,
    text,
    tabindex: "-1",
    title: `Mark as ${what} for Refine (key ${mark === "up" ? "+" : "-"}); again to clear`,
    "aria-label": `Mark ${name} as ${what}`,
    "aria-pressed": "false",
    dataset: { mark },
    on: { click: (e) => { e.stopPropagation(); toggleMark(model, send, id, mark); } },
  });
  const row = h("span", { class: "aisw-marks" }, [make("up", "👍", "relevant"), make("down", "👎", "not relevant")]);
  showMark(row, (model.get("marks") || {})[id]);
  return row;
}

/** Mark `id` (`mark`: "up" or "down"), or clear its mark when it has that one. */
export function toggleMark(model, send, id, mark) {
  const now = (model.get("marks") || {})[id];
  send(Request.MARK, { id, mark: now === mark ? "none" : mark });
}

/** The mark a key sets on the focused card, or null. */
export function markOfKey(key) {
  return key === "+" ? "up" : key === "-" ? "down" : null;
}

/** Show `mark` ("up", "down" or none) on a card's toggles. */
export function showMark(row, mark) {
  for (const b of row.querySelectorAll(".aisw-mark")) {
    const on = b.dataset.mark === mark;
    b.classList.toggle("aisw-mark-on", on);
    b.setAttribute("aria-pressed", String(on));
  }
  row.closest?.(".aisw-card")?.classList.toggle("aisw-marked", Boolean(mark));
}
