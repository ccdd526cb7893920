"""A real Label Studio server for the tests, started once per test session (the
``label_studio`` fixture, registered in ``conftest.py``), and a few calls of its REST
API to check what a test made there.

The server runs from the ``label-studio`` executable of ``.venv-ls`` (``make test``
makes it: Label Studio pins versions of numpy and pyarrow that this project's venv
does not use), or of this venv, or the one that ``AISEARCH_LABEL_STUDIO`` names.
Without one, the tests that use it are skipped.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parent.parent
TOKEN = "aisearch0test0token0123456789"


def executable() -> str | None:
    named = os.environ.get("AISEARCH_LABEL_STUDIO")
    for cand in (
        named,
        REPO / ".venv-ls" / "bin" / "label-studio",
        Path(sys.executable).parent / "label-studio",
    ):
        if cand and Path(cand).is_file():
            return str(cand)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server(NamedTuple):
    url: str
    token: str
    root: Path  # its LOCAL_FILES_DOCUMENT_ROOT


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    exe = executable()
    if exe is None:
        pytest.skip(
            "label-studio is not installed: `make test` installs it into .venv-ls (or set "
            "AISEARCH_LABEL_STUDIO to a label-studio executable)"
        )
    base = tmp_path_factory.mktemp("label-studio")
    root = base / "files"
    root.mkdir()
    port = free_port()
    env = os.environ | {
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(root),
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "COLLECT_ANALYTICS": "false",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
    }
    log = open(base / "server.log", "wb")  # noqa: SIM115  (closed after the server stops)
    cmd = [exe, "start", "--no-browser", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--data-dir", str(base / "data"), "--username", "test@example.com"]
    cmd += ["--password", "test-pass-123", "--user-token", TOKEN, "--enable-legacy-api-token"]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=base)
    url = f"http://127.0.0.1:{port}"
    # A first start migrates a new database: about a minute on two idle cores, several
    # on a loaded machine.
    deadline = time.monotonic() + 600
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"label-studio exited ({proc.returncode}):\n"
                    + (base / "server.log").read_text(errors="replace")[-3000:]
                )
            try:
                with urllib.request.urlopen(url + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "label-studio did not answer /health within 600 s:\n"
                    + (base / "server.log").read_text(errors="replace")[-3000:]
                )
            time.sleep(0.5)
        yield Server(url, TOKEN, root)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def api(server: Server, method: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method)
    req.add_header("Authorization", f"Token {server.token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        out = r.read()
    return json.loads(out) if out.strip() else None


def fetch(server: Server, path: str) -> bytes:
    req = urllib.request.Request(server.url + path)
    req.add_header("Authorization", f"Token {server.token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def tasks(server: Server, pid: int) -> list[dict]:
    got = api(server, "GET", f"/api/tasks?project={pid}&page_size=1000")
    return got["tasks"] if isinstance(got, dict) else got


def titles(server: Server) -> list[str]:
    got = api(server, "GET", "/api/projects?page_size=1000")
    return [p["title"] for p in (got["results"] if isinstance(got, dict) else got)]
