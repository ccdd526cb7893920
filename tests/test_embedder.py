from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aisearch_widgets import Embedder, ModelLoadError
from aisearch_widgets.embedder import model_identity, parse_model_spec


def test_spec_parsing() -> None:
    assert parse_model_spec("ViT-B-32:random").kind == "random"
    s = parse_model_spec("ViT-B-32:laion2b_s34b_b79k")
    assert (s.kind, s.arch, s.pretrained) == ("pretrained", "ViT-B-32", "laion2b_s34b_b79k")
    assert parse_model_spec("ViT-B-32").kind == "pretrained"  # first listed tag
    with pytest.raises(ModelLoadError, match="Did you mean"):
        parse_model_spec("ViT-B-23")
    with pytest.raises(ModelLoadError, match="Known tags"):
        parse_model_spec("ViT-B-32:no_such_tag")
    with pytest.raises(ModelLoadError, match="does not exist"):
        parse_model_spec("ViT-B-32:/nowhere/weights.safetensors")


def test_folder_model_encodes_normalised_vectors(tiny_model: str) -> None:
    emb = Embedder(tiny_model, device="cpu")
    assert emb.dim == 32 and emb.image_size == 32
    imgs = [Image.new("RGB", (50, 40), c) for c in [(255, 0, 0), (0, 0, 255)]]
    iv = emb.encode_images([*imgs, np.zeros((10, 10, 3), np.uint8)])
    tv = emb.encode_text(["a red thing", "a blue thing"])
    assert iv.shape == (3, 32) and tv.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(iv, axis=1), 1, atol=1e-5)
    assert not np.allclose(iv[0], iv[1])
    # Identity names the exact weights.
    assert emb.identity == model_identity(parse_model_spec(tiny_model))


def test_checkpoint_loading_is_safe(tiny_model: str, tmp_path: Path) -> None:
    import open_clip

    from aisearch_widgets.embedder import _load_checkpoint

    from _helpers import TINY_CFG

    src = Embedder(tiny_model, device="cpu")
    state = src.model.state_dict()
    pt = tmp_path / "w.pt"
    torch.save({"state_dict": state}, pt)
    model = open_clip.CLIP(**TINY_CFG)
    _load_checkpoint(model, str(pt))
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k])

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    bad = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, bad)
    with pytest.raises(ModelLoadError, match="refusing"):
        _load_checkpoint(model, str(bad))


def test_random_weights_are_the_same_in_every_process() -> None:
    pytest.importorskip("open_clip")
    a = Embedder("RN50:random", device="cpu").encode_text(["x"])
    b = Embedder("RN50:random", device="cpu").encode_text(["x"])
    np.testing.assert_allclose(a, b)


def test_preprocess_gives_the_model_transform_s_exact_tensor(tiny_model: str) -> None:
    """The numpy tensor steps give bit for bit what open_clip's torch transform gives,
    for every size, aspect and mode an image can come in."""
    emb = Embedder(tiny_model, device="cpu")
    rng = np.random.default_rng(3)
    shapes = [(224, 398), (480, 640), (300, 200), (17, 1000), (1080, 1920), (64, 64)]
    for h, w in shapes:
        rgb = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for img in (rgb, rgb.convert("L"), rgb.convert("RGBA"), rgb.convert("P")):
            got, want = emb.preprocess(img), emb.preprocess.transform(img)
            assert got.dtype == want.dtype == torch.float32
            assert got.shape == want.shape == (3, emb.image_size, emb.image_size)
            assert torch.equal(got, want), (h, w, img.mode)
