// A duplicate group side by side (the Compare of a group header in the gallery): per
// copy its picture, file facts and a difference image against the kept copy; "Keep
// this one instead" and "Keep the marked copy, move N to trash". Every string is text.
import { h, clear, fmtBytes as kb, BlobUrls } from "./dom.js";
import { Request } from "./protocol.js";

/** `send`: the gallery's requester. Returns {el (the overlay), open(group), destroy()}. */
export function createCompare(send) {
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

  const compareUrls = new BlobUrls();
  let compareGroup = null;
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
  return { el: compare, open: openCompare, destroy: () => compareUrls.revokeAll() };
}
