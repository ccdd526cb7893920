"""Long panel requests (searches, samples, enabling) run off the comm handler.

The kernel handles one comm message at a time: a search run inside the handler
blocks every other cell and every other request of the page until it ends. So a
handler of a :data:`~._protocol.BACKGROUND` request returns :class:`Work`: the slow
part (``compute``, the public API call) runs on a worker thread, and ``done`` (which
shows the result) runs afterwards, under the panel's lock, then the reply goes to
the part that asked.

A newer job of the same slot replaces an older one still running: the older
request is answered at once (``cancelled``), and its result, when the call ends,
is dropped. Cancel does the same without a newer job. The call itself runs to its
end on its thread (the public API has no way to stop it midway); nothing it
returns is shown.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

CANCELLED = "Cancelled."
REPLACED = "Replaced by a newer request."


@dataclass
class Work:
    """A request's slow part and how its result is shown. ``label``: what the
    panel says meanwhile ("Searching"); ``slot``: jobs of one slot replace each other;
    ``shown``: False for a job the form that asked shows itself (a labelling job):
    the panel's spinner and its Cancel leave it alone, the results are not dimmed."""

    compute: Callable[[], Any]
    done: Callable[[Any], Any]
    label: str = "Working"
    slot: str = "result"
    shown: bool = True

    def run(self) -> Any:
        """Both parts, here and now (a call from Python)."""
        return self.done(self.compute())


@dataclass
class _Job:
    work: Work
    answer: Callable[[Any, BaseException | None, str | None], None]
    started: float = field(default_factory=time.monotonic)
    over: bool = False  # answered (done, replaced or cancelled)


class Jobs:
    """The panel's running jobs, at most one per slot.

    ``lock``: the panel's lock, held while a result is shown (the comm handler holds
    it for the quick requests). ``on_busy(label or "")`` is told when the set of
    running jobs changes (the spinner)."""

    def __init__(self, lock: threading.RLock, on_busy: Callable[[str], None]) -> None:
        self._lock = lock
        self._on_busy = on_busy
        self._running: dict[str, _Job] = {}
        self._threads: list[threading.Thread] = []

    def start(
        self, work: Work, answer: Callable[[Any, BaseException | None, str | None], None]
    ) -> None:
        """Run ``work`` on a thread. ``answer(result, error, cancelled)`` is called once:
        with ``done``'s result, with the exception, or with the reason it was dropped."""
        job = _Job(work, answer)
        with self._lock:
            self._drop(work.slot, REPLACED)
            self._running[work.slot] = job
            self._busy()
        t = threading.Thread(
            target=self._run, args=(job,), daemon=True, name=f"aisearch-panel-{work.slot}"
        )
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()

    def cancel(
        self,
        slot: str | None = None,
        reason: str = CANCELLED,
        shown_only: bool = False,
        keep: tuple[str, ...] = (),
    ) -> int:
        """Drop the running job of ``slot`` (of every slot: None, but those in
        ``keep``; of every slot the panel's spinner shows: ``shown_only``); how many."""
        with self._lock:
            if slot is not None:
                slots = [slot]
            else:
                slots = [
                    s
                    for s, j in self._running.items()
                    if (j.work.shown or not shown_only) and s not in keep
                ]
            n = sum(self._drop(s, reason) for s in slots)
            self._busy()
        return n

    @property
    def running(self) -> dict[str, float]:
        """Slot -> seconds its job has run."""
        now = time.monotonic()
        with self._lock:
            return {s: now - j.started for s, j in self._running.items()}

    def join(self, timeout: float = 10.0) -> None:
        """Wait for the threads started so far (tests, closing)."""
        end = time.monotonic() + timeout
        for t in list(self._threads):
            t.join(max(0.0, end - time.monotonic()))

    # -- internals ----------------------------------------------------------------------
    def _drop(self, slot: str, reason: str) -> bool:
        job = self._running.pop(slot, None)
        if job is None:
            return False
        job.over = True
        self._safe_answer(job, None, None, reason)
        return True

    def _busy(self) -> None:
        labels = [j.work.label for j in self._running.values() if j.work.shown]
        try:
            self._on_busy(labels[-1] if labels else "")
        except Exception:  # the widget is closed
            log.debug("busy state not shown", exc_info=True)

    def _run(self, job: _Job) -> None:
        try:
            value, error = job.work.compute(), None
        except BaseException as exc:  # shown to the user, like any handler error
            value, error = None, exc
        with self._lock:
            if job.over:
                return  # replaced or cancelled: the result is dropped
            job.over = True
            if self._running.get(job.work.slot) is job:
                del self._running[job.work.slot]
            if error is None:
                try:
                    value = job.work.done(value)
                except BaseException as exc:
                    value, error = None, exc
            self._busy()
            self._safe_answer(job, value, error, None)

    @staticmethod
    def _safe_answer(
        job: _Job, value: Any, error: BaseException | None, cancelled: str | None
    ) -> None:
        try:
            job.answer(value, error, cancelled)
        except Exception:  # the comm is gone
            log.exception("could not answer a panel request")
