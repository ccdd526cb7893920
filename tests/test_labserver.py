"""The Jupyter Server extension behind the JupyterLab plugin (aisearch_widgets.labserver)
and the request files that carry enable/disable/update to a project's owner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import aisearch_widgets as aw
from aisearch_widgets import _requests
from aisearch_widgets.status import read_status

from _helpers import make_folder

REPO = Path(__file__).resolve().parents[1]
TOKEN = "test-token-0123456789"
EVIL = "<img src=x onerror=alert(1)>"

HOLDER = """
import sys, time
from pathlib import Path
from aisearch_widgets._home import HomeLock
lock = HomeLock(Path(sys.argv[1]), "held")
lock.acquire()
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "root"
        self.home = tmp / "home"
        self.root.mkdir()
        self.home.mkdir()
        cfg = tmp / "config"
        (cfg / "jupyter_server_config.d").mkdir(parents=True)
        (cfg / "jupyter_server_config.d" / "aisearch_widgets.json").write_text(
            (REPO / "jupyter-config" / "server-config" / "aisearch_widgets.json").read_text()
        )
        self.port = _free_port()
        env = dict(os.environ)
        env.update(
            AISEARCH_HOME=str(self.home),
            JUPYTER_CONFIG_DIR=str(cfg),
            JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
            PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]),
        )
        self.log = tmp / "server.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_server",
                    "--no-browser",
                    "--allow-root",
                    "--ServerApp.ip=127.0.0.1",
                    f"--ServerApp.port={self.port}",
                    "--ServerApp.port_retries=0",
                    f"--ServerApp.root_dir={self.root}",
                    f"--IdentityProvider.token={TOKEN}",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.request("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(self.log.read_text()[-3000:]) from None
                time.sleep(0.2)

    def request(
        self, method: str, path: str, body: object = None, token: str | None = TOKEN
    ) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"token {token}"
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
            method=method,
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                data = {"raw": raw.decode(errors="replace")}
            return e.code, data

    def status(self) -> dict[str, dict]:
        code, data = self.request("GET", "/aisearch-widgets/status")
        assert code == 200, data
        return {r["name"]: r for r in data["projects"]}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("labserver"))
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def projects(server: Server, tiny_model: str) -> Iterator[dict[str, Path]]:
    """ready: indexed and enabled; off: disabled; held: enabled, unfinished, and its lock
    held by another process; outside: a folder outside the server root."""
    folders = {
        "ready": server.root / "ready",
        "off": server.root / "data" / "off",
        "held": server.root / "held",
        "outside": server.home.parent / "outside-imgs",
    }
    for n, f in folders.items():
        make_folder(f, 4 if n != "held" else 3, sub=False)
    with aw.Project(
        "ready", sources=str(folders["ready"]), model=tiny_model, home=server.home
    ) as p:
        p.update()
        p._cfg["enabled"] = True
        p._write_config()
    with aw.Project("off", sources=str(folders["off"]), model=tiny_model, home=server.home) as p:
        p.update()
    with aw.Project("held", sources=str(folders["held"]), model=tiny_model, home=server.home) as p:
        p._cfg["enabled"] = True
        p._write_config()
    aw.Project(
        "outside", sources=str(folders["outside"]), model=tiny_model, home=server.home
    ).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(server.home / "held")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
    try:
        yield folders
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(20)


def test_status_of_several_projects(server: Server, projects: dict[str, Path]) -> None:
    rows = server.status()
    assert set(rows) == {"ready", "off", "held", "outside"}
    r = rows["ready"]
    assert (r["state"], r["folder"], r["done"], r["total"], r["failed"]) == (
        "ready",
        "ready",
        4,
        4,
        0,
    )
    assert r["updated_at"] and r["enabled"] is True and r["open"] is False
    assert (rows["off"]["state"], rows["off"]["folder"]) == ("disabled", "data/off")
    held = rows["held"]  # read while another process holds its lock
    assert (held["state"], held["open"], held["done"], held["total"]) == ("indexing", True, 0, 0)
    assert rows["outside"]["folder"] is None  # outside the server root: not named
    # Status only: no absolute paths (not even the home's), no file names.
    text = json.dumps(rows)
    assert str(server.home) not in text and str(server.root) not in text
    assert ".png" not in text and ".jpg" not in text and "pid" not in text


def test_unauthenticated_requests_are_refused(server: Server, projects: dict[str, Path]) -> None:
    assert server.request("GET", "/aisearch-widgets/status", token=None)[0] == 403
    assert server.request("GET", "/aisearch-widgets/status", token="wrong")[0] == 403
    code, _ = server.request(
        "POST", "/aisearch-widgets/action", {"action": "disable", "project": "ready"}, token=None
    )
    assert code == 403
    assert json.loads((server.home / "ready" / "project.json").read_text())["enabled"] is True


@pytest.mark.parametrize(
    ("folder", "code"),
    [
        ("../outside-imgs", 403),
        ("/etc", 403),
        ("ready/../../outside-imgs", 403),
        ("no-such-folder", 404),
        ("data", 404),  # a folder without a project: nothing to disable
    ],
)
def test_actions_on_folders_outside_or_unknown(
    server: Server, projects: dict[str, Path], folder: str, code: int
) -> None:
    got, data = server.request(
        "POST", "/aisearch-widgets/action", {"action": "disable", "folder": folder}
    )
    assert got == code, data
    assert str(server.home) not in json.dumps(data)


def test_symlink_out_of_the_root_is_refused(server: Server, projects: dict[str, Path]) -> None:
    link = server.root / "sneaky"
    if not link.exists():
        link.symlink_to(projects["outside"], target_is_directory=True)
    got, _ = server.request(
        "POST", "/aisearch-widgets/action", {"action": "update", "folder": "sneaky"}
    )
    assert got == 403


def test_bad_requests(server: Server, projects: dict[str, Path]) -> None:
    post = lambda body: server.request("POST", "/aisearch-widgets/action", body)[0]  # noqa: E731
    assert post({"action": "explode", "project": "ready"}) == 400
    assert post({"action": "disable", "project": "../ready"}) == 400
    assert post({"action": "disable", "project": "nope"}) == 404
    assert post({"action": "disable"}) == 400
    assert post(["disable"]) == 400


def test_disable_a_project_held_by_another_process_writes_a_request(
    server: Server, projects: dict[str, Path]
) -> None:
    code, data = server.request(
        "POST", "/aisearch-widgets/action", {"action": "disable", "folder": "held"}
    )
    assert (code, data["via"], data["project"]) == (200, "request", "held")
    reqs = list((server.home / "held" / "requests").glob("*.json"))
    assert len(reqs) == 1 and json.loads(reqs[0].read_text())["action"] == "disable"
    # Nothing was written to the project itself: its owner applies the request.
    assert json.loads((server.home / "held" / "project.json").read_text())["enabled"] is True
    reqs[0].unlink()


def test_disable_a_free_project_keeps_its_embeddings(
    server: Server, projects: dict[str, Path]
) -> None:
    code, data = server.request(
        "POST", "/aisearch-widgets/action", {"action": "disable", "folder": "ready"}
    )
    assert (code, data["via"]) == (200, "written")
    st = read_status("ready", server.home)
    assert st.enabled is False and st.done == 4  # embeddings kept
    assert server.status()["ready"]["state"] == "disabled"
    with aw.Project.open("ready", home=server.home) as p:  # the lock was let go
        assert not p.enabled and p.status.done == 4
        p.enable(schedule=None)
        p.runner.stop()


def test_update_of_a_free_project_runs_a_runner(server: Server, projects: dict[str, Path]) -> None:
    make_folder(projects["off"] / "more", 2, sub=False)
    before = read_status("off", server.home)
    code, data = server.request(
        "POST", "/aisearch-widgets/action", {"action": "update", "folder": "data/off"}
    )
    assert (code, data["via"]) == (200, "process"), data
    deadline = time.monotonic() + 120
    while read_status("off", server.home).done < before.done + 2:
        assert time.monotonic() < deadline, (server.home / "off" / "runner.log").read_text()
        time.sleep(0.2)
    st = read_status("off", server.home)
    assert st.enabled is False  # an update does not enable
    log = (server.home / "off" / "runner.log").read_text()
    assert "update off" in log


# -- request files, in one process ----------------------------------------------------
def test_owner_applies_requests(project_factory, images: Path) -> None:
    proj = project_factory(sources=str(images))
    assert not proj.enabled
    _requests.write_request(proj.folder, "enable", schedule="off")
    assert _requests.poll_once() == 1
    assert proj.enabled and proj._cfg["schedule"] is None
    proj.wait(progress=False)
    assert proj.status.done == 12
    (images / "late.png").write_bytes((next(images.rglob("*.png"))).read_bytes())
    _requests.write_request(proj.folder, "update")
    assert _requests.poll_once() == 1
    proj.wait(progress=False)
    assert proj.status.done == 13
    _requests.write_request(proj.folder, "disable")
    _requests.poll_once()
    assert not proj.enabled and proj.status.done == 13
    assert list((proj.folder / "requests").iterdir()) == []  # each is applied once


def test_watcher_thread_applies_requests(project_factory, images: Path) -> None:
    proj = project_factory(sources=str(images))
    _requests.write_request(proj.folder, "enable", schedule="off")
    deadline = time.monotonic() + 20
    while not proj.enabled:  # the watcher started when the project opened
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_stale_and_garbage_requests_are_dropped(project_factory, images: Path) -> None:
    proj = project_factory(sources=str(images))
    d = proj.folder / "requests"
    d.mkdir(exist_ok=True)
    (d / "a.json").write_text("{not json")
    (d / "b.json").write_text(json.dumps({"action": "rm -rf", "at": time.time()}))
    (d / "c.json").write_text(json.dumps({"action": "enable", "at": time.time() - 3600}))
    (d / ".x.tmp").write_text(json.dumps({"action": "enable", "at": time.time()}))
    assert _requests.take_requests(proj.folder) == []
    assert not proj.enabled
    assert [p.name for p in d.iterdir()] == [".x.tmp"]  # a half-written one is left alone


def test_dispatch_never_writes_a_held_project(project_factory, images: Path) -> None:
    proj = project_factory(sources=str(images))  # open here: this process holds the lock
    how = _requests.dispatch(proj.home, "disable", name=proj.name)
    assert how == {"via": "request"}
    assert len(list((proj.folder / "requests").glob("*.json"))) == 1


def test_folder_of_a_project_with_a_hostile_name(server: Server, tiny_model: str) -> None:
    folder = server.root / EVIL
    make_folder(folder, 2, sub=False)
    with aw.Project("evil", sources=str(folder), model=tiny_model, home=server.home):
        pass
    assert server.status()["evil"]["folder"] == EVIL  # data for the front end to show as text
    code, data = server.request(
        "POST", "/aisearch-widgets/action", {"action": "disable", "folder": EVIL}
    )
    assert (code, data["via"]) == (200, "written")


def test_enable_a_new_folder_starts_a_runner(
    server: Server, projects: dict[str, Path], tiny_model: str
) -> None:
    make_folder(server.root / "fresh", 3, sub=False)
    body = {"action": "enable", "folder": "fresh", "model": tiny_model, "schedule": "off"}
    code, data = server.request("POST", "/aisearch-widgets/action", body)
    assert (code, data["via"], data["project"]) == (200, "process", None), data
    deadline = time.monotonic() + 120
    while "fresh" not in server.status() or server.status()["fresh"]["state"] != "ready":
        assert time.monotonic() < deadline, (server.home / "runner-new.log").read_text()
        time.sleep(0.2)
    row = server.status()["fresh"]
    assert (row["folder"], row["done"], row["enabled"]) == ("fresh", 3, True)
    while True:  # the runner lets go of the project once its sync is done
        try:
            aw.Project.open("fresh", home=server.home).close()
            break
        except aw.ProjectLocked:
            assert time.monotonic() < deadline, "the runner process kept the project"
            time.sleep(0.2)
