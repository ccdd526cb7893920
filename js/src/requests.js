// Requests to Python and their replies (the protocol is in protocol.js, generated
// from aisearch_widgets/widgets/_protocol.py). Every request carries an id; Python
// answers each with one reply, ok or with an error, which is shown in the part's
// message line. So nothing waits forever, and the user sees why something failed.
import { FIELDS, REPLY } from "./protocol.js";
import { showMessage } from "./dom.js";

/**
 * A `send(type, fields, onReply)` for one view of a part. `onReply(reply, buffers)`
 * runs for ok and error replies alike (an error reply may still carry results).
 */
export function requester(model, messageEl) {
  // Every view of a widget gets every reply: ids are unique per view.
  const view = Math.random().toString(36).slice(2, 10);
  let next = 0;
  const pending = new Map();
  model.on("msg:custom", (msg, buffers) => {
    if (!msg || msg.type !== REPLY || !pending.has(msg.rid)) return;
    const onReply = pending.get(msg.rid);
    pending.delete(msg.rid);
    // A search replaced by a newer one, or cancelled, is no error to show.
    if (!msg.ok && !msg.cancelled) showMessage(messageEl, msg.error || "The request failed.", "error");
    onReply(msg, buffers || []);
  });
  return function send(type, fields = {}, onReply = () => {}) {
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

/** An integer from a number input, or `fallback` when it holds none. */
export function intValue(input, fallback) {
  const v = Number.parseInt(input.value, 10);
  return Number.isFinite(v) ? v : fallback;
}
