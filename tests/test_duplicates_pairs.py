"""Duplicates: pixel comparisons are made once per pair of content hashes.

Byte copies of a file share its fingerprint and its verdicts, a second search reuses
the verdicts of the first (cached next to the fingerprints), and a changed file (a
new content hash) is compared again. Images drawn here (``tests/_lookalikes.py``);
the vectors are made up, so that each pair is a candidate on purpose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aisearch_widgets.explore import duplicates as dup
from aisearch_widgets.explore import find_duplicates
from aisearch_widgets.images import content_hash

from _lookalikes import altered_copy, lookalike, png, random_scene, render


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of fingerprint pairs given to each pixel comparison."""
    calls: list[int] = []
    real = dup._compare

    def counting(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        calls.append(len(a))
        return real(a, b)

    monkeypatch.setattr(dup, "_compare", counting)
    return calls


def _files(
    root: Path, scenes: int, copies: int, seed: int = 7
) -> tuple[list[str], np.ndarray, list]:
    """Per scene an original PNG, an altered copy (another file) and a look-alike,
    each with ``copies`` byte copies; vectors: one direction per scene plus noise
    (every file of a scene a candidate of every other)."""
    rng = np.random.default_rng(seed)
    names: list[str] = []
    rows, drawn = [], []
    for s in range(scenes):
        scene = random_scene(rng)
        drawn.append(scene)
        img = render(scene)
        blobs = {
            "orig.png": png(img),
            "alt.jpg": altered_copy(img, rng),
            "look.png": png(render(lookalike(scene, "tint", rng))),
        }
        centre = rng.normal(size=32)
        for name, blob in blobs.items():
            for c in range(copies + 1):
                n = f"s{s}-c{c}-{name}"
                (root / n).write_bytes(blob)
                names.append(n)
                rows.append(centre + rng.normal(scale=0.02, size=32))
    x = np.asarray(rows, np.float32)
    return names, x / np.linalg.norm(x, axis=1, keepdims=True), drawn


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files whose bytes were read."""
    got: list[str] = []
    real = dup._images.read_bytes

    def counting(path: Any, *args: Any, **kw: Any) -> bytes:
        got.append(Path(path).name)
        return real(path, *args, **kw)

    monkeypatch.setattr(dup._images, "read_bytes", counting)
    return got


def _run(root: Path, names: list[str], x: np.ndarray, cache: Path | None):
    def paths(ids: list[str]) -> list[Path]:
        return [root / i for i in ids]

    content = [content_hash((root / n).read_bytes()) for n in names]
    return find_duplicates(
        names, x, paths, content=content, mtimes=np.zeros(len(names)), cache_dir=cache
    )


def test_byte_copies_are_read_and_compared_once_per_content_hash(
    tmp_path: Path, compared: list[int], reads: list[str]
) -> None:
    """Five byte copies of each of three files per scene: one file read per content
    hash, and at most one comparison per ordered pair of distinct content hashes
    (the candidates between copies number in the hundreds)."""
    names, x, _ = _files(tmp_path, scenes=2, copies=5)
    df = _run(tmp_path, names, x, None)
    hashes = {content_hash((tmp_path / n).read_bytes()) for n in names}
    assert len(hashes) == 6
    assert len(reads) == len(hashes), len(reads)
    # Per scene 3 hashes: 6 ordered pairs; two scenes.
    assert 0 < sum(compared) <= 2 * 6, compared
    # The copies of one picture are one group; the look-alike and its copies another.
    got = dict(zip(df["id"], df["group"], strict=True))
    for s in range(2):
        pic = {got[n] for n in names if n.startswith(f"s{s}-") and "look" not in n}
        look = {got[n] for n in names if n.startswith(f"s{s}-") and "look" in n}
        assert len(pic) == 1 and len(look) == 1 and pic != look
    assert set(df.loc[df["id"].str.contains("-c0-alt"), "match"]) <= {"near", "exact"}
    byte = df[df["id"].str.contains("-c[1-5]-orig", regex=True)]
    assert len(byte) == 10 and byte["match"].eq("exact").all()


def test_identical_files_group_without_any_pixel_comparison(
    tmp_path: Path, compared: list[int], reads: list[str]
) -> None:
    img = render(random_scene(np.random.default_rng(3)))
    blob = png(img)
    names = [f"copy{i}.png" for i in range(12)]
    for n in names:
        (tmp_path / n).write_bytes(blob)
    rng = np.random.default_rng(0)
    x = rng.normal(size=32) + rng.normal(scale=0.02, size=(12, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    df = _run(tmp_path, names, x, tmp_path / "cache")
    assert len(df) == 12 and df["group"].nunique() == 1 and df["match"].eq("exact").all()
    assert compared == [] and len(reads) == 1


def test_a_second_search_reuses_the_pixel_verdicts(tmp_path: Path, compared: list[int]) -> None:
    root = tmp_path / "images"
    root.mkdir()
    names, x, _ = _files(root, scenes=3, copies=1)
    cache = tmp_path / "cache"
    first = _run(root, names, x, cache)
    assert sum(compared) > 0 and (cache / "pixel_pairs.npz").exists()
    compared.clear()
    again = _run(root, names, x, cache)
    assert compared == []  # neither the candidates nor the members against the best
    assert again.equals(first)


def test_a_changed_file_is_compared_again(tmp_path: Path, compared: list[int]) -> None:
    """An altered copy replaced by a look-alike (new bytes, new content hash) leaves
    its group: its old verdict is not used for its new content."""
    root = tmp_path / "images"
    root.mkdir()
    names, x, scenes = _files(root, scenes=2, copies=0)
    cache = tmp_path / "cache"
    before = _run(root, names, x, cache)
    alt = "s0-c0-alt.jpg"
    assert alt in set(before["id"])
    orig = before.loc[before["id"] == alt, "group"].item()
    assert "s0-c0-orig.png" in set(before.loc[before["group"] == orig, "id"])
    moved = lookalike(scenes[0], "shift", np.random.default_rng(1))
    (root / alt).write_bytes(png(render(moved)))  # same name, other bytes
    compared.clear()
    after = _run(root, names, x, cache)
    assert sum(compared) > 0
    groups = dict(zip(after["id"], after["group"], strict=True))
    assert alt not in groups or groups[alt] != groups.get("s0-c0-orig.png")
