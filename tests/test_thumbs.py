"""ThumbnailCache: one atomic writer for every thumbnail of a project."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from aisearch_widgets._thumbs import ThumbnailCache

from _helpers import draw

PID = "0123abcd-0000-0000-0000-000000000001"


def _tmp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_put_get_remove(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbs")
    assert cache.get(PID) is None
    cache.put(PID, b"jpeg bytes")
    assert cache.get(PID) == b"jpeg bytes"
    assert cache.path(PID) == tmp_path / "thumbs" / PID[:2] / f"{PID}.jpg"
    cache.put(PID, b"newer")
    assert cache.get(PID) == b"newer"
    cache.remove(PID)
    cache.remove(PID)  # idempotent
    assert cache.get(PID) is None and not _tmp_files(tmp_path)


def test_concurrent_writers_never_share_a_temp_file(tmp_path: Path, monkeypatch) -> None:
    """Writers of one id in several threads (the indexer's decode workers and a
    panel's request) each write their own temporary file: every read sees one whole
    payload, and no temporary file is left."""
    cache = ThumbnailCache(tmp_path / "thumbs")
    names: list[str] = []
    real_replace = os.replace

    def spy(src, dst):
        names.append(os.path.basename(src))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    payloads = [bytes([i]) * 50_000 for i in range(8)]
    start = threading.Barrier(len(payloads))

    def write(data: bytes) -> None:
        start.wait()
        for _ in range(20):
            cache.put(PID, data)
            assert cache.get(PID) in payloads

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(names) == len(set(names)) == 160  # a fresh temp name per write
    assert cache.get(PID) in payloads and not _tmp_files(tmp_path)


def test_a_failed_write_leaves_no_temp_file_and_keeps_the_old_thumbnail(
    tmp_path: Path, monkeypatch
) -> None:
    cache = ThumbnailCache(tmp_path / "thumbs")
    cache.put(PID, b"old")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        cache.put(PID, b"new")
    monkeypatch.undo()
    assert cache.get(PID) == b"old" and not _tmp_files(tmp_path)


def test_make_decodes_honours_the_byte_cap_and_copy(tmp_path: Path) -> None:
    img = draw(tmp_path / "a.png", "red", size=(400, 300))
    cache = ThumbnailCache(tmp_path / "thumbs")
    data = cache.make(PID, img)
    assert data is not None and cache.get(PID) == data
    with Image.open(cache.path(PID)) as t:
        assert t.format == "JPEG" and max(t.size) <= 192
    other = "ff00ff00-0000-0000-0000-000000000002"
    assert cache.copy(PID, other) and cache.get(other) == data
    assert not cache.copy("77777777-0000-0000-0000-000000000003", other)

    small = ThumbnailCache(tmp_path / "capped", max_file_bytes=100)
    assert small.make(PID, img) is None and small.get(PID) is None  # above the cap
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    assert cache.make(other, tmp_path / "junk.jpg") is None


def test_sweep_removes_only_dead_writers_temp_files(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbs")
    cache.put(PID, b"x")
    folder = cache.path(PID).parent
    dead = folder / f"{PID}.jpg.999999999.1.abcd.tmp"
    mine = folder / f"{PID}.jpg.{os.getpid()}.1.abcd.tmp"
    dead.write_bytes(b"half")
    mine.write_bytes(b"in flight")
    cache.sweep()
    assert not dead.exists() and mine.exists() and cache.get(PID) == b"x"
