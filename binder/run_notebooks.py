"""Run every notebook of a folder in name order, as one Binder session would: each
kernel stays alive until all notebooks have run, so a notebook that leaves its project
open makes a later one fail (ProjectLocked). Prints each notebook's time; exits 1 at the
first cell error, with its traceback. Used by ``binder/check.sh``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(folder: Path) -> int:
    kernels: list[KernelManager] = []
    failed = 0
    try:
        for path in sorted(folder.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            km = KernelManager(kernel_name="python3")
            km.start_kernel(cwd=str(folder))
            kernels.append(km)
            # A kernel manager of our own: nbclient leaves the kernel running.
            client = NotebookClient(nb, km=km, timeout=900, kernel_name="python3")
            t0 = time.monotonic()
            try:
                client.execute()
            except CellExecutionError as exc:
                print(f"FAILED {path.name} after {time.monotonic() - t0:.1f} s:\n{exc}")
                failed += 1
                break
            finally:
                nbformat.write(nb, path)
            print(f"ok {path.name}: {time.monotonic() - t0:.1f} s", flush=True)
    finally:
        for km in kernels:
            km.shutdown_kernel(now=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
