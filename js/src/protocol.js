// Generated from aisearch_widgets/widgets/_protocol.py: do not edit. Regenerate with
//   python -m aisearch_widgets.widgets._protocol > js/src/protocol.js
// then `npm run build` in js/. The tests fail while either is stale.

export const REPLY = "reply";
export const Request = Object.freeze({
  "SEARCH_PROMPT": "search_prompt",
  "SEARCH_DIVERSE": "search_diverse",
  "SEARCH_SIMILAR": "search_similar",
  "TOGGLE_ENABLED": "toggle_enabled",
  "UPDATE_NOW": "update_now",
  "REMOVE_REFERENCE": "remove_reference",
  "THUMBS": "thumbs",
  "PREVIEW": "preview",
  "SIMILAR_ONE": "similar_one",
  "SIMILAR_SELECTED": "similar_selected",
  "OPEN": "open",
  "SAVE": "save",
  "TAG": "tag",
  "COPY": "copy",
  "EXPORT": "export",
  "SEARCH_DUPLICATES": "search_duplicates",
  "SEARCH_OUTLIERS": "search_outliers",
  "TAG_ALL_BUT_BEST": "tag_all_but_best",
  "DELETE_ALL_BUT_BEST": "delete_all_but_best",
});
export const Mode = Object.freeze({
  "PROMPT": "prompt",
  "DIVERSE": "diverse",
  "SIMILAR": "similar",
  "DUPLICATES": "duplicates",
  "OUTLIERS": "outliers",
});
export const Method = Object.freeze({
  "CENTROIDS": "centroids",
  "RANDOM": "random",
});
export const State = Object.freeze({
  "DISABLED": "disabled",
  "INDEXING": "indexing",
  "READY": "ready",
});
export const MessageKind = Object.freeze({
  "INFO": "info",
  "ERROR": "error",
});
export const View = Object.freeze({
  "GRID": "grid",
  "SEGMENTS": "segments",
});
/** Fields each request carries (besides type and rid). */
export const FIELDS = Object.freeze({
  "search_prompt": Object.freeze({"prompt": "string", "limit": "integer"}),
  "search_diverse": Object.freeze({"n": "integer", "method": "Method", "clusters": "integer"}),
  "search_similar": Object.freeze({"ids": "list", "limit": "integer"}),
  "toggle_enabled": Object.freeze({}),
  "update_now": Object.freeze({}),
  "remove_reference": Object.freeze({"id": "string"}),
  "thumbs": Object.freeze({"ids": "list"}),
  "preview": Object.freeze({"id": "string"}),
  "similar_one": Object.freeze({"id": "string"}),
  "similar_selected": Object.freeze({}),
  "open": Object.freeze({"name": "string"}),
  "save": Object.freeze({"name": "string"}),
  "tag": Object.freeze({"tag": "string"}),
  "copy": Object.freeze({"dir": "string"}),
  "export": Object.freeze({"path": "string"}),
  "search_duplicates": Object.freeze({}),
  "search_outliers": Object.freeze({"n": "integer"}),
  "tag_all_but_best": Object.freeze({"tag": "string"}),
  "delete_all_but_best": Object.freeze({"count": "integer"}),
});
export const PARTS = Object.freeze({
  "search_prompt": "controls",
  "search_diverse": "controls",
  "search_similar": "controls",
  "toggle_enabled": "controls",
  "update_now": "controls",
  "remove_reference": "controls",
  "thumbs": "gallery",
  "preview": "gallery",
  "similar_one": "gallery",
  "similar_selected": "gallery",
  "open": "actions",
  "save": "actions",
  "tag": "actions",
  "copy": "actions",
  "export": "actions",
  "search_duplicates": "controls",
  "search_outliers": "controls",
  "tag_all_but_best": "actions",
  "delete_all_but_best": "actions",
});
