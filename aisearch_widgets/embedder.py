"""CLIP embeddings with open_clip.

A *model spec* names the weights:

- ``"ViT-B-32:laion2b_s34b_b79k"``: an open_clip architecture and pretrained tag
  (downloaded by open_clip into its cache on first use);
- ``"ViT-B-32"``: the architecture's first listed pretrained tag;
- ``"ViT-B-32:/path/to/weights.safetensors"``: a local checkpoint for that
  architecture (safetensors, or a torch file loaded with ``weights_only=True``);
- ``"/path/to/folder"``: a folder with ``open_clip_config.json`` and weights;
- ``"demo"``: the small model bundled with this package (offline);
- ``"ViT-B-32:random"``: seeded random weights (same compute; for tests and benchmarks).

The :attr:`Embedder.identity` string names the exact weights, and the precision when
it is not fp32 (``"ViT-B-32:laion2b_s34b_b79k+int8"``); vectors made by different
identities never share a store.

*Precision* (``Embedder(spec, device, precision=)``):

- ``"fp32"``: full precision, on any device (identities as before precisions existed);
- ``"int8"``: CPU only; an int8 ONNX Runtime image tower (ONNX Runtime), built
  once per weights and library versions and cached (see :mod:`._quantize`); the text
  tower stays fp32;
- ``"fp16"`` / ``"bf16"``: CUDA only, autocast;
- ``"auto"``: int8 on CPU for architectures where int8 keeps the vectors (cosine
  >= 0.999 to fp32) and ONNX Runtime is installed, fp16 on CUDA, fp32 otherwise.

Threads: the model uses every core (``AISEARCH_THREADS=n`` overrides).
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import InvalidArgument, ModelLoadError

DEFAULT_MODEL = "ViT-B-32:laion2b_s34b_b79k"
PRECISIONS = ("fp32", "int8", "fp16", "bf16", "auto")


@dataclass(frozen=True)
class ModelSpec:
    kind: str  # "pretrained" | "random" | "checkpoint" | "dir"
    arch: str | None
    pretrained: str | None = None
    path: str | None = None
    label: str | None = None  # "demo" for the bundled model


# A stored vector whose norm is below this is "zero": it has no direction to compare.
MIN_NORM = 1e-6


def bad_rows(vectors: np.ndarray) -> np.ndarray:
    """A boolean mask of the rows of ``vectors`` that must never be stored or searched
    with: any NaN or infinity, or a (near) zero norm. A damaged model, or a damaged
    int8 cache of one, gives such vectors for every input, silently."""
    x = np.asarray(vectors)
    if x.ndim == 1:
        x = x[None, :]
    out = np.zeros(len(x), dtype=bool)
    # In blocks of rows: a mask of a whole 1M x 512 matrix would be 0.5 GB.
    for start in range(0, len(x), 16384):
        block = x[start : start + 16384].astype(np.float32, copy=False)
        with np.errstate(invalid="ignore", over="ignore"):
            norms = np.linalg.norm(block, axis=1)
        out[start : start + len(block)] = ~np.isfinite(block).all(axis=1) | ~(norms > MIN_NORM)
    return out


def describe_bad(vector: np.ndarray) -> str:
    """What is wrong with one vector flagged by :func:`bad_rows`, in words."""
    v = np.asarray(vector, dtype=np.float32)
    if np.isnan(v).any():
        return "NaN values"
    if not np.isfinite(v).all():
        return "infinite values"
    return "a zero vector"


#: The bundled demo model (model spec ``"demo"``): an open_clip ``local-dir:`` folder
#: (config + safetensors) built by ``scripts/train_demo_model.py``. Named here, where
#: specs are resolved, so that resolving one never imports the demo app.
DEMO_MODEL_DIR: Path = Path(__file__).resolve().parent / "demo" / "model"


def demo_model_dir() -> str:
    return os.fspath(DEMO_MODEL_DIR)


def parse_model_spec(spec: str) -> ModelSpec:
    """Parse a model spec string (see the module docstring)."""
    import open_clip

    spec = spec.strip()
    if not spec:
        raise ModelLoadError("Empty model spec. Use e.g. 'ViT-B-32:laion2b_s34b_b79k' or 'demo'.")
    if spec == "demo":
        return ModelSpec("dir", None, path=demo_model_dir(), label="demo")
    expanded = os.path.expanduser(spec)
    if os.path.isdir(expanded):
        if not os.path.isfile(os.path.join(expanded, "open_clip_config.json")):
            raise ModelLoadError(
                f"{expanded}: a model folder needs open_clip_config.json next to its weights."
            )
        return ModelSpec("dir", None, path=os.path.abspath(expanded))
    arch, _, tag = spec.partition(":")
    known = open_clip.list_models()
    if arch not in known:
        close = difflib.get_close_matches(arch, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ModelLoadError(
            f"Unknown open_clip architecture {arch!r}.{hint} See open_clip.list_models()."
        )
    if not tag:
        tags = open_clip.list_pretrained_tags_by_model(arch)
        if not tags:
            raise ModelLoadError(
                f"{arch} has no pretrained weights in open_clip; pass a checkpoint: "
                f"'{arch}:/path/to/weights.safetensors'."
            )
        return ModelSpec("pretrained", arch, pretrained=tags[0])
    if tag in ("random", "none"):
        return ModelSpec("random", arch)
    path = os.path.expanduser(tag)
    if (
        os.sep in tag
        or os.path.exists(path)
        or tag.endswith((".safetensors", ".pt", ".bin", ".pth"))
    ):
        if not os.path.isfile(path):
            raise ModelLoadError(f"Checkpoint {path} does not exist.")
        return ModelSpec("checkpoint", arch, path=os.path.abspath(path))
    tags = open_clip.list_pretrained_tags_by_model(arch)
    if tag not in tags:
        raise ModelLoadError(
            f"{arch} has no pretrained tag {tag!r}. Known tags: {', '.join(tags) or 'none'}."
        )
    return ModelSpec("pretrained", arch, pretrained=tag)


@lru_cache(maxsize=16)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def _digest(path: str) -> str:
    if os.path.isdir(path):
        files = sorted(
            f for f in os.listdir(path) if f.endswith((".safetensors", ".bin", ".pt", ".pth"))
        )
        if not files:
            raise ModelLoadError(f"{path}: no weights file (*.safetensors, *.bin, *.pt) found.")
        path = os.path.join(path, files[0])
    st = os.stat(path)
    return _file_digest(path, st.st_size, st.st_mtime_ns)


def model_identity(spec: ModelSpec) -> str:
    """A string that names the exact weights of a spec."""
    if spec.kind == "pretrained":
        return f"{spec.arch}:{spec.pretrained}"
    if spec.kind == "random":
        return f"{spec.arch}:random"
    assert spec.path is not None
    name = spec.label or spec.arch or os.path.basename(spec.path.rstrip(os.sep))
    return f"{name}@{_digest(spec.path)}"


def model_dim(spec: ModelSpec) -> int | None:
    """The vector size a spec's model gives, read from its config without building
    it (None when the config does not say; the first embedding then tells)."""
    try:
        if spec.kind == "dir":
            import json

            assert spec.path is not None
            with open(os.path.join(spec.path, "open_clip_config.json"), encoding="utf-8") as fh:
                return int(json.load(fh)["model_cfg"]["embed_dim"])
        import open_clip

        return int(open_clip.get_model_config(spec.arch)["embed_dim"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def with_precision(identity: str, precision: str) -> str:
    """The identity of vectors made at ``precision`` (fp32 keeps the bare identity)."""
    return identity if precision == "fp32" else f"{identity}+{precision}"


def int8_fits(spec: ModelSpec) -> bool:
    """Whether ``"auto"`` picks int8 for this architecture on CPU: open_clip's own
    vision transformers (measured: >= 2.5x fp32 with cosine >= 0.9997; see
    benchmarks/README.md §1). Convolutional towers (ResNets, timm models such as
    MobileCLIP) keep fp32: int8 MatMuls barely touch their cost."""
    import open_clip

    if spec.kind == "dir":
        import json

        assert spec.path is not None
        with open(os.path.join(spec.path, "open_clip_config.json")) as fh:
            cfg = json.load(fh).get("model_cfg", {})
    else:
        cfg = open_clip.get_model_config(spec.arch) or {}
    vision = cfg.get("vision_cfg", {})
    return isinstance(vision.get("layers"), int) and not vision.get("timm_model_name")


def resolve_precision(spec: ModelSpec, device: str, precision: str = "auto") -> str:
    """The precision an :class:`Embedder` uses for ``spec`` on ``device`` (already
    picked, not ``"auto"``); cheap: loads no model. Raises on a combination that
    cannot run."""
    from . import _quantize

    if precision not in PRECISIONS:
        raise InvalidArgument(
            f"precision={precision!r} is not one of {', '.join(map(repr, PRECISIONS))}."
        )
    kind = device.split(":")[0]
    if precision == "auto":
        if kind == "cuda":
            return "fp16"
        if kind == "cpu" and int8_fits(spec) and _quantize.available():
            return "int8"
        return "fp32"
    if precision == "int8" and kind != "cpu":
        raise InvalidArgument(
            f"precision='int8' runs on the CPU only, not on device {device!r}; use "
            "precision='fp16' or 'bf16' on CUDA, or device='cpu'."
        )
    if precision in ("fp16", "bf16") and kind != "cuda":
        raise InvalidArgument(
            f"precision={precision!r} needs a CUDA device, not {device!r}; on CPU use "
            "precision='int8' (fast) or 'fp32'."
        )
    return precision


def pick_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class Embedder:
    """Encodes images and texts into L2-normalised CLIP vectors.

    >>> emb = Embedder("demo")                        # doctest: +SKIP
    >>> emb.encode_text(["a red circle"]).shape       # doctest: +SKIP
    (1, 256)
    """

    def __init__(
        self, spec: str = DEFAULT_MODEL, device: str = "auto", precision: str = "fp32"
    ) -> None:
        import open_clip
        import torch

        from . import _quantize

        self.spec = parse_model_spec(spec)
        self.device = pick_device(device)
        self.precision = resolve_precision(self.spec, self.device, precision)
        weights = model_identity(self.spec)
        self.identity = with_precision(weights, self.precision)
        if self.device == "cpu":
            _quantize.configure_threads()
        s = self.spec
        try:
            if s.kind == "dir":
                name = f"local-dir:{s.path}"
                model, _, preprocess = open_clip.create_model_and_transforms(
                    name, device=self.device
                )
                tokenizer = open_clip.get_tokenizer(name)
            elif s.kind == "random":
                # Seeded so that two processes build the same "random" model.
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(0)
                    model, _, preprocess = open_clip.create_model_and_transforms(
                        s.arch, pretrained=None, device=self.device
                    )
                tokenizer = open_clip.get_tokenizer(s.arch)
            elif s.kind == "checkpoint":
                model, _, preprocess = open_clip.create_model_and_transforms(
                    s.arch, pretrained=None, device=self.device
                )
                _load_checkpoint(model, s.path)  # type: ignore[arg-type]
                tokenizer = open_clip.get_tokenizer(s.arch)
            else:
                model, _, preprocess = open_clip.create_model_and_transforms(
                    s.arch, pretrained=s.pretrained, device=self.device
                )
                tokenizer = open_clip.get_tokenizer(s.arch)
        except ModelLoadError:
            raise
        except Exception as exc:
            where = s.path or f"{s.arch}:{s.pretrained}"
            hint = ""
            if s.kind == "pretrained":
                hint = (
                    " open_clip downloads pretrained weights on first use: check internet "
                    "access, or pass a local checkpoint ('ARCH:/path/to/weights.safetensors'), "
                    "or use model='demo' offline."
                )
            raise ModelLoadError(f"Could not load model {where}: {exc}.{hint}") from exc
        model.eval()
        self.model = model
        self.preprocess = FastPreprocess(preprocess)
        self.tokenizer = tokenizer
        size = getattr(model.visual, "image_size", 224)
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        with torch.inference_mode():
            probe = tokenizer(["a"]).to(self.device)
            self.dim = int(model.encode_text(probe).shape[-1])
        self._autocast = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision)
        self._tower: Any = None  # the int8 image tower (ONNX Runtime)
        if self.precision == "int8":
            self._tower = _quantize.int8_tower(model, weights, self.image_size)
            model.visual = None  # its weights live in the tower now: free ~the tower's size

    def __repr__(self) -> str:
        return (
            f"Embedder({self.identity!r}, device={self.device!r}, dim={self.dim}, "
            f"precision={self.precision!r})"
        )

    def _autocast_ctx(self) -> Any:
        import torch

        return torch.autocast(
            "cuda", dtype=self._autocast or torch.float16, enabled=self._autocast is not None
        )

    def _normed(self, x: Any) -> np.ndarray:
        x = x.float()
        x = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return x.cpu().numpy().astype(np.float32, copy=False)

    def encode_batch(self, pixels: Any) -> np.ndarray:
        """Encode a preprocessed ``(B, 3, H, W)`` tensor."""
        import torch

        if self._tower is not None:  # ONNX Runtime releases the GIL: decoding goes on
            return self._normed(torch.from_numpy(self._tower(pixels)))
        with torch.inference_mode(), self._autocast_ctx():
            return self._normed(self.model.encode_image(pixels.to(self.device)))

    def encode_images(self, images: Sequence[Any], batch_size: int = 32) -> np.ndarray:
        """Encode PIL images (or HxWx3 uint8 arrays)."""
        import torch
        from PIL import Image

        from .images import to_rgb

        out = []
        for i in range(0, len(images), batch_size):
            chunk = []
            for im in images[i : i + batch_size]:
                if isinstance(im, np.ndarray):
                    im = Image.fromarray(np.ascontiguousarray(im))
                chunk.append(self.preprocess(to_rgb(im)))
            out.append(self.encode_batch(torch.stack(chunk)))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode(), self._autocast_ctx():
            tokens = self.tokenizer(list(texts)).to(self.device)
            return self._normed(self.model.encode_text(tokens))


def to_unit(pixels: np.ndarray) -> np.ndarray:
    """``(..., H, W, 3)`` uint8 to ``(..., 3, H, W)`` float32 in [0, 1]: the arithmetic
    of torchvision's ``ToTensor``, in numpy (the same float32 values, bit for bit)."""
    x = np.asarray(pixels, dtype=np.float32)
    return np.moveaxis(x, -1, -3) / np.float32(255)


def normalize(x: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """``(..., 3, H, W)`` float32 normalised per channel: torchvision's ``Normalize``
    (``(x - mean) / std`` in float32), in numpy."""
    m = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)
    return np.ascontiguousarray((x - m) / s)


class FastPreprocess:
    """A model's image transform (open_clip's ``Compose`` of resize, crop, to-tensor,
    normalize) giving the same tensor, with the tensor steps done in numpy.

    torch runs even a 3x224x224 subtraction on its intra-op thread pool; called from a
    decode thread while the model holds every core, each such op waits for the busy
    pool (measured on 2 cores: to-tensor + normalize 40-80 ms per image instead of
    0.3 ms single-threaded), and decoding falls far behind the model. numpy's
    element-wise ops run on the calling thread. The PIL steps (resize, crop, mode) run
    as they are; a step this class does not know runs as torch's, unchanged.
    """

    def __init__(self, transform: Any) -> None:
        self.transform = transform
        self.steps = list(getattr(transform, "transforms", [transform]))

    def __repr__(self) -> str:
        return f"FastPreprocess({self.transform!r})"

    def __call__(self, img: Any) -> Any:
        import torch
        from PIL import Image

        x: Any = img
        for t in self.steps:
            name = type(t).__name__
            if name in ("ToTensor", "MaybeToTensor") and isinstance(x, Image.Image):
                x = to_unit(np.asarray(x)) if x.mode == "RGB" else t(x).numpy()
            elif name == "Normalize" and isinstance(x, np.ndarray):
                x = normalize(x, t.mean, t.std)
            elif isinstance(x, np.ndarray):  # an unknown tensor step: torch's own
                x = t(torch.from_numpy(x)).numpy()
            else:
                x = t(x)
        if isinstance(x, np.ndarray):
            return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        return x


def _load_checkpoint(model: Any, path: str) -> None:
    """Load a state dict without ever unpickling arbitrary objects."""
    import torch

    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        state = load_file(path, device="cpu")
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelLoadError(
                f"{path}: refusing to load this checkpoint, it is not a plain tensor file "
                f"({exc}). Convert it to safetensors."
            ) from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing:
        raise ModelLoadError(
            f"{path}: checkpoint does not match the architecture; missing {len(missing)} "
            f"tensors (e.g. {missing[0]}), {len(unexpected)} unexpected."
        )
