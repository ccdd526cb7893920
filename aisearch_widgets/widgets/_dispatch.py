"""The panel's side of the protocol (``_protocol.py``), mixed into :class:`SearchPanel`:
every request is checked, handled and answered by exactly one reply to the part that
sent it; an error is also shown in that part and logged. A handler that returns
:class:`~._jobs.Work` runs on a worker (``_jobs.py``) and is answered when it ends, is
replaced, or is cancelled."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from .._errors import AISearchError
from ._jobs import Jobs, Work
from ._protocol import BACKGROUND, REPLY, MessageKind, Part, Reply, parse, request_id

log = logging.getLogger(__name__)


class Requests:
    """Mixin of :class:`SearchPanel` (which provides ``_parts``, ``_handlers``,
    ``_lock``, ``_jobs`` and ``controls``)."""

    _jobs: Jobs
    _lock: threading.RLock
    _parts: dict[Part, Any]
    _handlers: dict[Any, Callable[..., Any]]
    controls: Any

    def _message(self, text: str, kind: str = MessageKind.INFO, where: Any = None) -> None:
        target = where or self.controls
        with target.hold_sync():
            target.message = text
            target.message_kind = str(kind)

    def _report(self, exc: BaseException, where: Any, what: str) -> str:
        """Show an error in the part ``where`` and log it; the text shown. Errors we
        raise on purpose say what to do; anything else is a bug or an OS failure and
        is logged with its traceback."""
        if isinstance(exc, AISearchError):
            text = str(exc)
            log.warning("%s: %s", what, text)
        else:
            text = f"{type(exc).__name__}: {exc}"
            log.error("%s failed", what, exc_info=exc)
        self._message(text, MessageKind.ERROR, where=where)
        return text

    def _dispatch(self, part: Part, msg: Any) -> None:
        """Answer one request: check it against the protocol, run its handler, reply
        ok or with the error. An error is also shown in the part that sent the request
        and logged. Whatever happens, exactly one reply goes back."""
        widget = self._parts[part]
        rid = request_id(msg)
        what = f"panel request {str(msg.get('type') if isinstance(msg, dict) else msg)[:40]!r}"
        try:
            with self._lock:
                if widget.message_kind == MessageKind.ERROR:
                    self._message("", where=widget)  # a new request: the old error is done
                req, fields = parse(part, msg)
                out = self._handlers[req](**fields)
            if req in BACKGROUND and isinstance(out, Work):
                # The slow part runs on a worker; this handler returns now (the kernel
                # answers other cells and requests meanwhile). The reply follows.
                answer = functools.partial(self._answer_job, widget, rid, what)
                self._jobs.start(out, answer)
                return
            reply = out if isinstance(out, Reply) else Reply()
            if reply.error is not None:
                self._message(reply.error, MessageKind.ERROR, where=widget)
        except Exception as exc:
            reply = Reply(error=self._report(exc, widget, what))
        self._send_reply(widget, rid, what, reply)

    def _answer_job(
        self, widget: Any, rid: str | None, what: str, value: Any, error: Any, cancelled: Any
    ) -> None:
        """The reply to a request that ran on a worker (under the panel's lock)."""
        if cancelled is not None:
            self._send_reply(widget, rid, what, Reply(error=cancelled), cancelled=True)
            return
        if error is not None:
            reply = Reply(error=self._report(error, widget, what))
        else:
            reply = value if isinstance(value, Reply) else Reply()
        self._send_reply(widget, rid, what, reply)

    @staticmethod
    def _send_reply(
        widget: Any, rid: str | None, what: str, reply: Reply, cancelled: bool = False
    ) -> None:
        content: dict[str, Any] = {"type": REPLY, "rid": rid, "ok": reply.error is None}
        content.update(reply.fields)
        if reply.error is not None:
            content["error"] = reply.error
        if cancelled:
            content["cancelled"] = True
        try:
            widget.send(content, reply.buffers or None)
        except Exception:  # the comm is gone (kernel shutting down, widget closed)
            log.exception("could not answer %s", what)

    def _cancel(self) -> None:
        if not self._jobs.cancel(shown_only=True):
            self._message("Nothing is running.")
            return
        self._message("Cancelled.")

    def _show_busy(self, label: str) -> None:
        """The spinner's text ("" when nothing runs); meanwhile the results shown are
        dimmed: they are the previous ones."""
        with self.controls.hold_sync():
            self.controls.busy_label = label
            self.controls.busy = bool(label)
        (self.add_class if label else self.remove_class)("aisw-working")  # type: ignore
