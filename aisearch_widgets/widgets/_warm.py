"""The model's code imported ahead of the first prompt.

Loading the model is mostly importing its code (``open_clip``, and through it torch
and torchvision: seconds, up to ten or more on a busy machine); reading the weights
and the first ``encode_text`` take a fraction of a second. A panel loads the model in
the background when it opens (``SearchPanel._warm_up``); the imports start earlier,
when the widgets are imported in a notebook kernel (``aw.SearchPanel`` is asked
for), on a thread of their own, so the cell that makes the panel is not held up.
Outside a kernel (a script, the tests, ``python -m …._protocol``) nothing starts.
"""

from __future__ import annotations

import logging
import sys
import threading

log = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _import() -> None:
    try:
        import open_clip  # noqa: F401 - imported for its side effect: the import itself
    except Exception:  # not installed or broken: the first prompt says why
        log.debug("model code not imported ahead", exc_info=True)


def in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (not a script that imported ipykernel)."""
    app = sys.modules.get("ipykernel.kernelapp")
    try:
        return app is not None and bool(app.IPKernelApp.initialized())
    except Exception:
        return False


def start_imports(force: bool = False) -> threading.Thread | None:
    """Import the model's code on a daemon thread, once per process, inside a kernel
    (``force``: wherever). The thread, or None when it was not started here."""
    global _thread
    if not force and not in_kernel():
        return None
    with _lock:
        if _thread is None and "open_clip" not in sys.modules:
            _thread = threading.Thread(target=_import, daemon=True, name="aisearch-imports")
            _thread.start()
        return _thread
