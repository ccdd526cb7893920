"""The Jupyter Server extension behind the JupyterLab plugin (aisearch_widgets.labserver)
and the request files that carry enable/disable/update to a project's owner."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

import aisearch_widgets as aw
from aisearch_widgets import _requests
from aisearch_widgets._errors import InvalidArgument
from aisearch_widgets.labserver import StatusReader, project_rows
from aisearch_widgets.status import read_status

from _helpers import make_folder, wait_for

REPO = Path(__file__).resolve().parents[1]
TOKEN = "test-token-0123456789"
EVIL = "<img src=x onerror=alert(1)>"

# A seam for the tests of the status and estimate endpoints: in the server process,
# reading the status of a project whose name starts with "slow" waits until the test
# drops a "gate" file into that project's folder (at most 20 s), and says it started
# with an "entered" file; counting a folder named "slow…" does the same.
SLOW_STATUS_HOOK = """
import time
from pathlib import Path

import aisearch_widgets.status as _status
from aisearch_widgets._home import resolve_home

_read_status = _status.read_status


def _slow_read_status(name, home=None):
    if name.startswith("slow"):
        folder = resolve_home(home) / name
        (folder / "entered").touch()
        deadline = time.monotonic() + 20
        while not (folder / "gate").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return _read_status(name, home)


_status.read_status = _slow_read_status

# The same for counting the images of a folder named "slow…" (the enable prompt's
# estimate): it waits for a "gate" file in that folder.
import aisearch_widgets._estimate as _estimate

_count_media = _estimate.count_media


def _slow_count_media(folder, *args, **kwargs):
    if Path(folder).name.startswith("slow"):
        (Path(folder) / ".entered").touch()
        deadline = time.monotonic() + 20
        while not (Path(folder) / ".gate").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return _count_media(folder, *args, **kwargs)


_estimate.count_media = _slow_count_media
"""

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
        (cfg / "jupyter_server_config.py").write_text(SLOW_STATUS_HOOK)
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

        def answers() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            self.request("GET", "/api/status")
            return True

        wait_for(
            answers,
            60,
            lambda: "the server: " + self.log.read_text()[-3000:],
            retry_on=(urllib.error.URLError, ConnectionError),
        )

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        token: str | None = TOKEN,
        timeout: float = 30,
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
            with urllib.request.urlopen(req, timeout=timeout) as r:
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
        p.enable(schedule=None)
        p.wait(progress=False)
    with aw.Project("off", sources=str(folders["off"]), model=tiny_model, home=server.home) as p:
        p.update()
    with aw.Project("held", sources=str(folders["held"]), model=tiny_model, home=server.home) as p:
        p.config.update(enabled=True)
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
    wait_for(
        lambda: read_status("off", server.home).done >= before.done + 2,
        120,
        lambda: "the runner: " + (server.home / "off" / "runner.log").read_text(),
    )
    st = read_status("off", server.home)
    assert st.enabled is False  # an update does not enable
    log = (server.home / "off" / "runner.log").read_text()
    assert "update off" in log


# -- request files, in one process ----------------------------------------------------
def test_owner_applies_requests(project_factory, images: Path) -> None:
    proj = project_factory(sources=str(images))
    assert not proj.enabled
    _requests.write_request(proj.folder, "enable", schedule="off")
    # Applied when poll_once returns, by it or by the watcher thread (they take turns).
    _requests.poll_once()
    assert proj.enabled and proj.schedule is None
    proj.wait(progress=False)
    assert proj.status.done == 12
    (images / "late.png").write_bytes((next(images.rglob("*.png"))).read_bytes())
    _requests.write_request(proj.folder, "update")
    _requests.poll_once()
    proj.wait(progress=False)
    assert proj.status.done == 13
    _requests.write_request(proj.folder, "disable")
    _requests.poll_once()
    assert not proj.enabled and proj.status.done == 13
    assert list((proj.folder / "requests").iterdir()) == []  # each is applied once


def test_watcher_thread_applies_requests(project_factory, images: Path) -> None:
    proj = project_factory(sources=str(images))
    _requests.write_request(proj.folder, "enable", schedule="off")
    # The watcher started when the project opened.
    wait_for(lambda: proj.enabled, 20, "the watcher to apply the request")


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
    # Garbage is moved aside (out of the queue, kept for a look); the expired request is
    # dropped; a half-written one is left alone.
    assert sorted(p.name for p in d.iterdir()) == [".x.tmp", "a.json.bad", "b.json.bad"]


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
    row = wait_for(
        lambda: (r := server.status().get("fresh", {})).get("state") == "ready" and r,
        120,
        lambda: "the runner: " + (server.home / "runner-new.log").read_text(),
    )
    assert (row["folder"], row["done"], row["enabled"]) == ("fresh", 3, True)
    # The runner lets go of the project once its sync is done.
    wait_for(
        lambda: aw.Project.open("fresh", home=server.home).close() or True,
        120,
        "the runner process to let go of the project",
        retry_on=(aw.ProjectLocked,),
    )


# -- bounded and validated: request files, runners, the status endpoint -----------------
def _request_text(action: str = "enable", **params: object) -> str:
    return json.dumps({"action": action, "at": time.time(), **params})


def _names(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def test_a_bad_request_file_never_blocks_later_requests(project_factory, tmp_path: Path) -> None:
    """Deeply nested JSON raised RecursionError: the file stayed, and no later request
    to any project of the process was applied."""
    make_folder(tmp_path / "a", 2, sub=False)
    make_folder(tmp_path / "b", 2, sub=False)
    a = project_factory("a", str(tmp_path / "a"))
    b = project_factory("b", str(tmp_path / "b"))
    d = a.folder / "requests"
    d.mkdir()
    (d / "deep.json").write_text("[" * 50_000)  # under the size cap: the parser refuses it
    os.utime(d / "deep.json", (1, 1))  # the oldest: read first
    _requests.write_request(a.folder, "enable", schedule="off")
    _requests.write_request(b.folder, "enable", schedule="off")
    _requests.poll_once()  # (or the watcher thread, whichever comes first)
    assert a.enabled and b.enabled
    assert _names(d) == ["deep.json.bad"]  # out of the queue, kept for a look
    a.wait(progress=False)
    b.wait(progress=False)


def test_request_files_are_capped_in_size(project_factory, images: Path) -> None:
    proj = project_factory(sources=str(images))
    d = proj.folder / "requests"
    d.mkdir()
    padded = _request_text(schedule="off") + " " * _requests.MAX_REQUEST_BYTES
    (d / "padded.json").write_text(padded)  # a valid request, but too big to be one
    with open(d / "huge.json", "wb") as fh:
        fh.truncate(1 << 30)  # 1 GB (sparse): refused by its size, never read
    assert _requests.take_requests(proj.folder) == []
    assert not proj.enabled
    assert _names(d) == ["huge.json.bad", "padded.json.bad"]


def test_a_fifo_request_file_does_not_hang_the_reader(project_factory, images: Path) -> None:
    proj = project_factory(sources=str(images))
    d = proj.folder / "requests"
    d.mkdir()
    os.mkfifo(d / "fifo.json")
    _requests.write_request(proj.folder, "enable", schedule="off")
    _requests.poll_once()
    assert proj.enabled and _names(d) == ["fifo.json.bad"]
    proj.wait(progress=False)


def test_a_symlinked_requests_folder_is_never_followed(
    project_factory, images: Path, tmp_path: Path
) -> None:
    """A requests/ that links elsewhere: its *.json files were read and deleted."""
    proj = project_factory(sources=str(images))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "notes.json").write_text('{"keep": true}')
    (victim / "enable.json").write_text(_request_text(schedule="off"))
    (proj.folder / "requests").symlink_to(victim, target_is_directory=True)
    _requests.poll_once()
    assert _names(victim) == ["enable.json", "notes.json"] and not proj.enabled
    with pytest.raises(_requests.UnsafeRequestsFolder, match="not a real folder"):
        _requests.write_request(proj.folder, "disable")
    with pytest.raises(aw.AISearchError, match="not a real folder"):
        _requests.dispatch(proj.home, "disable", name=proj.name)  # held here: a request
    assert _names(victim) == ["enable.json", "notes.json"]


def test_a_symlinked_request_file_is_not_read(
    project_factory, images: Path, tmp_path: Path
) -> None:
    proj = project_factory(sources=str(images))
    target = tmp_path / "elsewhere.json"
    target.write_text(_request_text(schedule="off"))
    d = proj.folder / "requests"
    d.mkdir()
    (d / "link.json").symlink_to(target)
    assert _requests.take_requests(proj.folder) == [] and not proj.enabled
    assert _names(d) == ["link.json.bad"] and target.is_file()


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
def test_a_requests_folder_of_another_user_is_left_alone(project_factory, images: Path) -> None:
    proj = project_factory(sources=str(images))
    d = proj.folder / "requests"
    d.mkdir()
    (d / "x.json").write_text(_request_text(schedule="off"))
    os.chown(d, 65534, 65534)
    assert _requests.take_requests(proj.folder) == []
    assert _names(d) == ["x.json"] and not proj.enabled


class _FakeRunner:
    """Stands in for a runner process: records its command line, runs until told."""

    started: list[_FakeRunner]

    def __init__(self, cmd: list[str], **kw: object) -> None:
        self.cmd = cmd
        self.pid = 40000 + len(self.started)
        self.alive = True
        self.started.append(self)

    def poll(self) -> int | None:
        return None if self.alive else 0


@pytest.fixture
def fake_runners(monkeypatch: pytest.MonkeyPatch) -> list[_FakeRunner]:
    started: list[_FakeRunner] = []
    monkeypatch.setattr(_FakeRunner, "started", started, raising=False)
    monkeypatch.setattr(_requests.subprocess, "Popen", _FakeRunner)
    monkeypatch.setattr(_requests, "_runners", {}, raising=False)
    monkeypatch.setattr(_requests, "_sent", {}, raising=False)
    return started


def test_action_posts_start_one_runner_per_project(
    fake_runners: list[_FakeRunner], tiny_model: str, images: Path, home: Path
) -> None:
    """16 "update" POSTs started 16 runners (15 died with ProjectLocked)."""
    aw.Project("p", sources=str(images), model=tiny_model, home=home).close()
    hows = [_requests.dispatch(home, "update", name="p") for _ in range(16)]
    assert len(fake_runners) == 1
    assert [h["via"] for h in hows[:2]] == ["process", "request"]
    assert {h["via"] for h in hows[2:]} == {"coalesced"}  # the same request, still waiting
    assert len(list((home / "p" / "requests").glob("*.json"))) == 1
    # Another action goes to that runner too, in order, rather than to a second runner.
    assert _requests.dispatch(home, "enable", name="p", schedule="1h")["via"] == "request"
    assert len(fake_runners) == 1
    fake_runners[0].alive = False  # once it has ended, the next action starts one again
    assert _requests.dispatch(home, "update", name="p")["via"] == "process"
    assert len(fake_runners) == 2


def test_runner_arguments_are_checked_and_never_pass_as_options(
    fake_runners: list[_FakeRunner], tiny_model: str, images: Path, home: Path
) -> None:
    for model in ("bogus", "-5", "--home=/tmp/x", "ViT-B-32\n--home=/tmp"):
        with pytest.raises(InvalidArgument, match="model"):
            _requests.dispatch(home, "enable", folder=str(images), model=model)
    for schedule in ("bogus", "-5", "--home=/tmp/x", "200000d"):
        with pytest.raises(InvalidArgument, match="chedule"):
            _requests.dispatch(home, "enable", folder=str(images), model="demo", schedule=schedule)
    assert fake_runners == []
    _requests.dispatch(home, "enable", folder=str(images), model=tiny_model, schedule="1h")
    cmd = fake_runners[0].cmd
    options = cmd[cmd.index("run") + 2 :]
    assert all(o.startswith("--") and "=" in o for o in options), options
    assert f"--model={tiny_model}" in options and "--schedule=1h" in options


def test_at_most_max_runners_at_once(
    fake_runners: list[_FakeRunner], tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_requests, "MAX_RUNNERS", 2)
    folders = [str(tmp_path / f"f{i}") for i in range(3)]
    for f in folders:
        os.mkdir(f)
    for f in folders[:2]:
        assert _requests.dispatch(home, "enable", folder=f, model="demo")["via"] == "process"
    assert _requests.dispatch(home, "enable", folder=folders[0])["via"] == "coalesced"
    with pytest.raises(_requests.RunnersBusy, match="at most 2 at once"):
        _requests.dispatch(home, "enable", folder=folders[2], model="demo")
    fake_runners[0].alive = False
    assert _requests.dispatch(home, "enable", folder=folders[2], model="demo")["via"] == "process"
    assert len(fake_runners) == 3


def _broken_config(root: str) -> dict:
    return {
        "version": 3,
        "model": "demo",
        "identity": "demo-test",
        "dim": 32,
        "enabled": False,
        "sources": [{"kind": "folder", "label": "x", "root": root}],
    }


def test_a_project_with_a_nul_byte_is_one_broken_row(tmp_path: Path) -> None:
    home, root = tmp_path / "home", str(tmp_path)
    for name, src in (("good", str(tmp_path / "imgs")), ("nul", "/x\x00y")):
        (home / name).mkdir(parents=True)
        (home / name / "project.json").write_text(json.dumps(_broken_config(src)))
    (home / "fifo").mkdir()
    (home / "fifo" / "project.json").write_text(json.dumps(_broken_config(root)))
    os.mkfifo(home / "fifo" / "catalog.sqlite")  # opening it would hang the reader
    os.mkfifo(home / "fifo" / "lock")
    rows = {r["name"]: r for r in project_rows(home, root)}
    assert rows["nul"] == {"name": "nul", "folder": None, "state": "broken", "error": "ValueError"}
    assert rows["fifo"]["state"] == "broken" and rows["fifo"]["error"] == "ProjectCorrupt"
    assert (rows["good"]["state"], rows["good"]["folder"]) == ("disabled", "imgs")


def test_status_reader_keeps_rows_briefly_and_forgets_them_after_an_action(
    tmp_path: Path,
) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    def rows() -> list[dict]:
        # On a thread of its own: an earlier test of the session may have left an
        # event loop set as running on this one, where asyncio.run() refuses to start.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, reader.rows(home, root)).result()

    home, root = tmp_path / "home", str(tmp_path)
    (home / "p").mkdir(parents=True)
    cfg = _broken_config(str(tmp_path / "imgs"))
    (home / "p" / "project.json").write_text(json.dumps(cfg))
    reader = StatusReader(budget=5.0, ttl=60.0, workers=2)
    assert [r["state"] for r in rows()] == ["disabled"]
    (home / "p" / "project.json").write_text(json.dumps({**cfg, "enabled": True}))
    assert rows()[0]["state"] == "disabled"  # kept: not read
    reader.forget()  # what a successful action does
    assert rows()[0]["state"] == "waiting"
    shutil.rmtree(home / "p")
    assert rows() == []  # a deleted project leaves no row


def test_actions_with_a_bad_schedule_or_model_are_refused_with_the_reason(
    server: Server, projects: dict[str, Path]
) -> None:
    before = (server.home / "ready" / "project.json").read_text()
    cases = [
        ({"folder": "ready", "schedule": "200000d"}, "'200000d' is out of range"),
        ({"folder": "ready", "schedule": "1" * 400}, "between 1s and 365d"),
        ({"folder": "ready", "schedule": "bogus"}, "Invalid schedule 'bogus'"),
        ({"folder": "ready", "schedule": "-5"}, "Invalid schedule '-5'"),
        ({"project": "ready", "schedule": 5}, "'schedule' must be a text"),
        ({"folder": "data", "model": "bogus"}, "Unknown model 'bogus'"),
        ({"folder": "data", "model": "-5"}, "Invalid model '-5'"),
        ({"project": "ready", "model": "--home=/tmp"}, "Invalid model '--home=/tmp'"),
    ]
    for body, reason in cases:
        code, data = server.request(
            "POST", "/aisearch-widgets/action", {"action": "enable", **body}
        )
        assert (code, reason in data.get("message", "")) == (400, True), (body, data)
    assert (server.home / "ready" / "project.json").read_text() == before
    assert (
        not (server.home / "runner-new.log").exists()
        or "bogus" not in (server.home / "runner-new.log").read_text()
    )


def test_a_broken_project_is_one_broken_row_of_the_status(
    server: Server, projects: dict[str, Path]
) -> None:
    """A NUL byte in one project's root made /status answer 500 for every project."""
    bad = server.home / "nul-root"
    bad.mkdir()
    (bad / "project.json").write_text(json.dumps(_broken_config("/x\x00y")))
    try:
        rows = server.status()
        assert (rows["nul-root"]["state"], rows["nul-root"]["error"]) == ("broken", "ValueError")
        assert all("error" not in rows[n] for n in projects)
    finally:
        shutil.rmtree(bad)


def test_status_is_read_off_the_event_loop(server: Server, projects: dict[str, Path]) -> None:
    """Reading every catalog on the event loop blocked /api/contents for seconds. Here
    one project's status read is stuck (see SLOW_STATUS_HOOK): the server still answers
    other requests at once, /status answers within its budget with that row unknown,
    and shows the row once it has been read."""
    slow = server.home / "slow-one"
    slow.mkdir()
    (slow / "project.json").write_text(json.dumps(_broken_config(str(server.root / "ready"))))
    answer: dict[str, tuple[int, dict]] = {}
    t = threading.Thread(
        target=lambda: answer.setdefault(
            "status", server.request("GET", "/aisearch-widgets/status")
        )
    )
    t.start()
    try:
        wait_for((slow / "entered").exists, 20, "the status read to start")
        code, _ = server.request("GET", "/api/contents", timeout=10)  # not behind the read
        assert code == 200
        t.join(15)
        assert not t.is_alive()
        code, data = answer["status"]
        rows = {r["name"]: r for r in data["projects"]}
        assert code == 200 and rows["slow-one"]["state"] == "unknown"
        assert rows["ready"]["folder"] == "ready"  # the other projects are all there
    finally:
        (slow / "gate").touch()
        t.join(30)
    try:
        row = wait_for(
            lambda: (r := server.status()["slow-one"])["state"] != "unknown" and r,
            20,
            "the status of slow-one",
        )
        assert (row["state"], row["folder"]) == ("disabled", "ready")
    finally:
        shutil.rmtree(slow)


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait(20)
    return p.pid


@pytest.mark.parametrize(
    ("enabled", "holder", "dirty", "want"),
    [
        (False, None, False, "disabled"),
        (True, None, False, "waiting"),  # files left and nobody to embed them
        (True, "dead", True, "waiting"),  # a crashed holder leaves its record and the mark
        (False, "dead", True, "disabled"),
        (True, "alive", True, "indexing"),
        (False, "alive", True, "disabled"),  # a cancelled sync leaves the mark too
    ],
)
def test_the_server_and_read_status_give_a_project_one_state(
    tmp_path: Path, enabled: bool, holder: str | None, dirty: bool, want: str
) -> None:
    """``read_status`` (the CLI, ``aw.read_status``) and the server's row apply one rule:
    a lock record whose process is gone holds nothing, and a project that is on with
    files left and no live holder is waiting."""
    from aisearch_widgets.catalog import Catalog
    from aisearch_widgets.labserver import project_row

    home, root = tmp_path / "home", str(tmp_path)
    folder = home / "p"
    folder.mkdir(parents=True)
    (folder / "project.json").write_text(
        json.dumps({**_broken_config(str(tmp_path / "imgs")), "enabled": enabled})
    )
    cat = Catalog(str(folder / "catalog.sqlite"))
    cat.set_meta(dirty=dirty)
    cat.close()
    if holder is not None:  # the record a holder leaves in its lock file
        pid = os.getpid() if holder == "alive" else _dead_pid()
        record = {"pid": pid, "host": socket.gethostname(), "since": time.time(), "cmd": "x"}
        (folder / "lock").write_text(json.dumps(record))
    st = read_status("p", home)
    row = project_row(home, root, "p")
    assert (st.state, row["state"]) == (want, want)
    assert row["open"] is (holder == "alive")


def test_missing_files_leave_a_synced_project_ready(tmp_path: Path) -> None:
    """Files whose folder vanished are kept until pruned; they are not work left, so an
    enabled, synced project with some is ``ready``, not ``waiting`` for ever."""
    import sqlite3

    from aisearch_widgets.catalog import Catalog
    from aisearch_widgets.labserver import project_row

    home, root = tmp_path / "home", str(tmp_path)
    folder = home / "p"
    folder.mkdir(parents=True)
    cfg = {**_broken_config(str(tmp_path / "imgs")), "enabled": True}
    (folder / "project.json").write_text(json.dumps(cfg))
    cat = Catalog(str(folder / "catalog.sqlite"))
    cat.set_meta(last_sync=time.time(), first_pass_done=True)
    cat.close()
    with sqlite3.connect(folder / "catalog.sqlite") as db:
        for key, status in (("x/a.png", "embedded"), ("x/b.png", "missing")):
            db.execute(
                "INSERT INTO files(key, id, path, source, size, mtime_ns, status, model, "
                "updated_at) VALUES (?, ?, ?, 'x', 1, 1, ?, ?, 0)",
                (key, key, f"/gone/{key}", status, cfg["identity"]),
            )
    st = read_status("p", home)
    assert (st.done, st.missing, st.pending) == (1, 1, 0)
    assert (st.state, project_row(home, root, "p")["state"]) == ("ready", "ready")


def test_folders_lists_subfolders_under_the_root_only(
    server: Server, projects: dict[str, Path]
) -> None:
    (server.root / "data" / EVIL).mkdir(exist_ok=True)
    (server.root / "data" / ".hidden").mkdir(exist_ok=True)
    link = server.root / "data" / "escape"
    if not link.exists():
        link.symlink_to(server.home.parent)
    code, top = server.request("GET", "/aisearch-widgets/folders")
    assert code == 200 and top["path"] == "" and not top["truncated"]
    names = [f["path"] for f in top["folders"]]
    assert {"data", "held", "ready"} <= set(names) and names == sorted(names, key=str.casefold)
    code, data = server.request("GET", "/aisearch-widgets/folders?path=data")
    assert code == 200
    # The hostile name comes back as data; hidden folders and a link out of the root don't.
    assert {f["name"]: f["path"] for f in data["folders"]} == {
        EVIL: f"data/{EVIL}",
        "off": "data/off",
    }
    for bad in ("..", "/etc", "data/escape", "nope", "ready/0.png"):
        code, data = server.request("GET", f"/aisearch-widgets/folders?path={quote(bad)}")
        assert code == 404, (bad, data)
        assert str(server.home) not in json.dumps(data)
    code, _ = server.request("GET", "/aisearch-widgets/folders", token=None)
    assert code == 403


def test_models_put_the_home_s_models_first_and_never_a_path(
    server: Server, projects: dict[str, Path], tiny_model: str
) -> None:
    from aisearch_widgets.embedder import DEFAULT_MODEL

    code, data = server.request("GET", "/aisearch-widgets/models")
    assert code == 200 and data["default"] == DEFAULT_MODEL
    ids = [m["id"] for m in data["models"]]
    assert ids[:2] == ["demo", DEFAULT_MODEL] and len(ids) == len(set(ids))
    assert tiny_model not in json.dumps(data)  # the projects' model is a folder: a path
    demo = data["models"][0]
    assert demo["installed"] is True and demo["dim"] == 256


def test_estimate_counts_the_folder_and_prices_the_disk(
    server: Server, projects: dict[str, Path]
) -> None:
    from aisearch_widgets import _estimate

    folder = server.root / "new" / "deep"
    make_folder(folder, 7, sub=False)
    (folder / ".hidden.png").write_bytes(b"x")
    (folder / "notes.txt").write_text("not an image")
    code, est = server.request("GET", "/aisearch-widgets/estimate?folder=new&model=demo")
    assert code == 200, est
    assert (est["folder"], est["images"], est["videos"], est["complete"]) == ("new", 7, 0, True)
    size = sum(
        p.stat().st_size for p in folder.iterdir() if p.name[0] != "." and p.suffix != ".txt"
    )
    assert est["bytes"] == size
    per = 256 * 4 + _estimate.THUMB_BYTES + _estimate.ROW_BYTES
    assert est["disk_bytes"] == 7 * per
    # No project here embedded with the demo model: no rate, no time.
    assert est["rate"] is None and est["seconds"] is None
    # The text the launcher shows, as the notebook's prompt says it.
    assert est["lines"] == [
        f"7 images found ({_estimate.fmt_bytes(size)})",
        "Time: not known yet (no project has been embedded with this model on this machine)",
        f"Disk: about {_estimate.fmt_bytes(7 * per)} (vectors, thumbnails, catalog)",
    ]
    for bad in ("..", "/tmp", "ready/0.png"):
        code, _ = server.request("GET", f"/aisearch-widgets/estimate?folder={quote(bad)}")
        assert code == 404


def test_a_count_is_bounded_and_says_so(tmp_path: Path) -> None:
    from aisearch_widgets._estimate import count_media

    make_folder(tmp_path / "a", 30, sub=True)
    full = count_media(str(tmp_path))
    assert full["complete"] and full["images"] == 30
    part = count_media(str(tmp_path), max_entries=10)
    assert not part["complete"] and part["images"] <= 10


def test_measured_rate_is_read_from_the_latest_run(tmp_path: Path) -> None:
    import sqlite3

    from aisearch_widgets._estimate import measured_rate

    db = tmp_path / "catalog.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE files(key TEXT, status TEXT, updated_at REAL)")
    rows = [(f"old{i}", "embedded", 1000.0 + i) for i in range(50)]  # an older run
    # The latest run: batches of 10 written every 2 s (the first batch's time opens it).
    rows += [(f"k{b}{i}", "embedded", 5000.0 + 2 * b) for b in range(6) for i in range(10)]
    rows += [(f"f{i}", "failed", 5020.0) for i in range(5)]
    con.executemany("INSERT INTO files VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()
    assert measured_rate(db) == pytest.approx(50 / 10.0)
    assert measured_rate(tmp_path / "none.sqlite") is None


def test_the_estimate_counts_off_the_event_loop(server: Server, projects: dict[str, Path]) -> None:
    """A count stuck on a slow disk (see SLOW_STATUS_HOOK) holds its own answer only:
    the server answers the status, the folder listing and its contents API meanwhile."""
    slow = server.root / "slow-disk"
    make_folder(slow, 3, sub=False)
    answer: dict[str, tuple[int, dict]] = {}
    t = threading.Thread(
        target=lambda: answer.setdefault(
            "estimate", server.request("GET", "/aisearch-widgets/estimate?folder=slow-disk")
        )
    )
    t.start()
    try:
        deadline = time.monotonic() + 20
        while not (slow / ".entered").exists():
            assert time.monotonic() < deadline, "the count never started"
            time.sleep(0.02)
        t0 = time.monotonic()
        for path in ("/api/contents", "/aisearch-widgets/status", "/aisearch-widgets/folders"):
            code, _ = server.request("GET", path, timeout=10)
            assert code == 200, path
        assert time.monotonic() - t0 < 5 and t.is_alive()  # answered while it counts
    finally:
        (slow / ".gate").touch()
        t.join(30)
    code, est = answer["estimate"]
    assert code == 200 and (est["images"], est["complete"]) == (3, True)
