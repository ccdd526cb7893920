"""Time left of a running sync, from the panel's own status polls: the rate over
the last minute of samples (images done per second), and what is left at that rate."""

from __future__ import annotations

import time
from collections import deque

WINDOW_S = 60.0


class Eta:
    """Feed it ``(done, total)`` on every poll; ``seconds_left`` is -1 until the
    rate is known (two samples with progress between them)."""

    def __init__(self, window: float = WINDOW_S) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, done: int, total: int, now: float | None = None) -> float:
        """Record a sample; the seconds left (-1: not known)."""
        now = time.monotonic() if now is None else now
        if self._samples and done < self._samples[-1][1]:
            self._samples.clear()  # a new sync (or files forgotten): start over
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window:
            self._samples.popleft()
        t0, d0 = self._samples[0]
        if now - t0 <= 0 or done <= d0 or done >= total:
            return -1.0
        rate = (done - d0) / (now - t0)
        return round((total - done) / rate, 1)

    def reset(self) -> None:
        self._samples.clear()
