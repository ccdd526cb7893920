"""Opening a project and everything that needs no new embedding (diverse sampling,
similar-by-id, tags, saved collections, file actions) never imports open_clip or
torch: the vector size and the model identity are read from project.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import aisearch_widgets as aw

N = 1000

SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import aisearch_widgets as aw
proj = aw.Project.open(sys.argv[1], home=sys.argv[2])
div = proj.diverse(n=20)
sim = proj.similar(ids=div.ids[:3], limit=50)
sim.tag("look")
sim.save("similar")
tagged = proj.tagged("look")
tagged.head(1).move_to(sys.argv[3])
proj.update()  # a sync that finds the moved file where it now is: nothing to embed
seconds = time.perf_counter() - t0
proj.close()
print(json.dumps({
    "seconds": seconds,
    "counts": [len(div), len(sim), len(tagged)],
    "loaded": sorted(m for m in ("open_clip", "torch", "ray") if m in sys.modules),
}))
"""


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, tiny_model: str) -> Path:
    root = tmp_path_factory.mktemp("open-without-model")
    images = root / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(N):
        px = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        Image.fromarray(px).resize((32, 32), Image.Resampling.NEAREST).save(images / f"{i:04d}.png")
    with aw.Project(
        "thousand", sources=images, model=tiny_model, home=root / "home", batch_size=256
    ) as proj:
        assert proj.update().embedded == N
    return root


def test_open_diverse_similar_tag_save_tagged_move_load_no_model(indexed: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, "thousand", str(indexed / "home"), str(indexed / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["counts"] == [20, 50, 50]
    assert got["loaded"] == []  # neither open_clip nor torch nor ray was imported
    print(
        f"\nopen + diverse + similar(ids) + tag + save + tagged + move + update on {N} "
        f"images, fresh process: {got['seconds']:.2f} s"
    )
