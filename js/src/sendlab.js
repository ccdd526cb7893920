// "Send to labelling…" of the "With N selected ▾" menu: the images acted on (the
// selection, or every image shown) become a Label Studio project, one task per image
// (Collection.annotate in Python, on a worker: the kernel stays free meanwhile).
// The form starts with what Python proposes (the server, a title, the classes of the
// label set shown). The API key is a password field that starts empty (empty: the
// kernel's LABEL_STUDIO_API_KEY); it goes with the request only, and is cleared once
// the project is made or the form closes. A spinner shows while the project is made;
// then its address is shown as a link (as text; http and https only) with the number
// of tasks. An error comes back as text in the result bar's message.
import { h } from "./dom.js";
import { LabelKind, Request, Storage } from "./protocol.js";

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/**
 * `send`: the result bar's requester; `count()`: the images acted on (as the "With N
 * selected" button says); `onOpen()`: called when the form opens (the bar closes its
 * other forms). Returns {form, open, close, update}.
 */
export function createSendLab({ send, count, onOpen }) {
  const uid = Math.random().toString(36).slice(2, 8);
  const field = (key, text, input, hint) => {
    input.id = `aisw-sl-${key}-${uid}`;
    input.classList.add("aisw-field", `aisw-sl-${key}`);
    return h("span", { class: `aisw-sl-field aisw-sl-field-${key}` }, [
      h("label", { class: "aisw-field-label", for: input.id, text }),
      input,
      hint ? h("span", { class: "aisw-muted aisw-sl-hint", text: hint }) : null,
    ]);
  };
  const option = (value, text) => h("option", { value, text });
  const url = h("input", { type: "text", maxlength: "2048", spellcheck: "false", placeholder: "http://localhost:8080" });
  const title = h("input", { type: "text", maxlength: "50" });
  const labels = h("input", { type: "text", maxlength: "10000", placeholder: "e.g. car, truck" });
  const kind = h("select", {}, [
    option(LabelKind.CHOICES, "Choices: one class per image"),
    option(LabelKind.BOXES, "Boxes: draw and label boxes"),
  ]);
  const storage = h("select", {}, [
    option(Storage.UPLOAD, "Upload the images to the server"),
    option(Storage.LOCAL, "Local files: Label Studio serves them"),
  ]);
  const root = h("input", { type: "text", maxlength: "4096", spellcheck: "false", placeholder: "the folder Label Studio serves" });
  const key = h("input", { type: "password", autocomplete: "new-password", maxlength: "4096" });
  const rootField = field("root", "Document root (local files)", root);
  const keyField = field("key", "API key", key);
  const keyHint = h("span", { class: "aisw-muted aisw-sl-hint" });
  keyField.append(keyHint);
  const fields = h("div", { class: "aisw-sl-fields" }, [
    field("url", "Label Studio URL", url),
    field("title", "Project title", title),
    field("labels", "Labels (comma separated)", labels),
    field("kind", "Kind", kind),
    field("storage", "Images", storage),
    rootField,
    keyField,
  ]);
  const heading = h("span", { class: "aisw-sl-heading" });
  const ok = h("button", { class: "aisw-btn aisw-primary aisw-sl-send" });
  const cancel = h("button", { class: "aisw-btn aisw-sl-cancel", text: "Cancel" });
  const spinner = h("span", { class: "aisw-spinner", "aria-hidden": "true" });
  const statusText = h("span", { class: "aisw-sl-status-text" });
  const link = h("a", { class: "aisw-sl-link", target: "_blank", rel: "noopener noreferrer" });
  const status = h("span", { class: "aisw-sl-status", role: "status", hidden: true }, [spinner, statusText, link]);
  const form = h("div", {
    class: "aisw-sendlab-form", role: "group", hidden: true, "data-lm-suppress-shortcuts": "true",
  }, [
    heading,
    fields,
    h("div", { class: "aisw-row aisw-sl-buttons" }, [ok, cancel, status]),
  ]);
  form.setAttribute("aria-label", "Send to labelling");
  let state = "closed"; // closed, editing, sending, done

  function setState(next) {
    state = next;
    form.dataset.state = next;
    const busy = next === "sending";
    for (const input of [url, title, labels, kind, storage, root, key]) input.disabled = busy;
    fields.hidden = next === "done";
    ok.hidden = next === "done";
    ok.disabled = busy;
    cancel.disabled = busy; // the project is being made: its outcome is shown here
    cancel.textContent = next === "done" ? "Close" : "Cancel";
    spinner.hidden = !busy;
    status.hidden = next === "editing" || next === "closed";
    form.hidden = next === "closed";
    update();
  }
  function showRoot() {
    rootField.hidden = storage.value !== Storage.LOCAL;
  }
  storage.addEventListener("change", showRoot);

  function open() {
    onOpen();
    send(Request.LABELLING_FORM, {}, (reply) => {
      if (!reply.ok) return;
      url.value = reply.url || "";
      title.value = reply.project || "";
      labels.value = (reply.labels || []).join(", ");
      storage.value = reply.storage === Storage.LOCAL ? Storage.LOCAL : Storage.UPLOAD;
      root.value = reply.root || "";
      key.value = "";
      key.placeholder = reply.key_from_env ? "empty: the kernel's LABEL_STUDIO_API_KEY" : "Account & Settings → Access Token";
      keyHint.textContent = "Used for this request only; never stored.";
      showRoot();
      setState("editing");
      (labels.value ? title : labels).focus();
    });
  }
  function close() {
    if (state === "closed") return;
    key.value = "";
    setState("closed");
  }
  function update() {
    const n = count();
    if (state !== "done") heading.textContent = `Send ${plural(n, "image", "images")} to Label Studio: one task per image`;
    ok.textContent = `Send ${plural(n, "image", "images")}`;
  }
  function submit() {
    if (state !== "editing") return;
    for (const input of [url, title, labels]) {
      if (!input.value.trim()) return input.focus();
    }
    if (storage.value === Storage.LOCAL && !root.value.trim()) return root.focus();
    const n = count();
    statusText.textContent = `Making the project and ${plural(n, "task", "tasks")}…`;
    link.hidden = true;
    setState("sending");
    send(Request.SEND_TO_LABELLING, {
      url: url.value.trim(),
      project: title.value.trim(),
      labels: labels.value,
      kind: kind.value,
      storage: storage.value,
      root: root.value.trim(),
      api_key: key.value,
      count: n,
    }, (reply) => {
      if (!reply.ok) {
        setState("editing"); // the error is in the result bar's message
        return;
      }
      key.value = "";
      heading.textContent = `Sent ${plural(reply.tasks, "image", "images")} to Label Studio`;
      statusText.textContent = `Project “${reply.title}”: ${plural(reply.tasks, "task", "tasks")}. Label them at`;
      link.textContent = reply.url;
      link.hidden = false;
      if (/^https?:\/\//i.test(reply.url)) link.href = reply.url;
      else link.removeAttribute("href");
      setState("done");
    });
  }
  ok.addEventListener("click", submit);
  cancel.addEventListener("click", close);
  form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target instanceof HTMLInputElement) submit();
    if (e.key === "Escape" && state !== "sending") close();
  });
  return { form, open, close, update };
}
