"""Int8 image towers for CPU, and the disk cache that keeps them.

The image tower is almost all matrix multiplies; int8 weights with dynamically
quantised activations cut their cost on CPU. Implementations, measured in
``benchmarks/bench_precision.py`` (numbers in ``benchmarks/README.md`` §1):

- ONNX Runtime (a dependency): export of ``encode_image`` to ONNX, then
  ``quantize_dynamic`` with int8 weights on MatMul/Gemm. Built once and cached as
  ``.onnx`` files (protobuf, not pickles) under :func:`cache_dir`.
- PyTorch dynamic quantisation of ``nn.Linear`` (no extra dependency; rebuilt from the
  fp32 weights in about a second, so nothing is cached and nothing is unpickled).

Threads: :func:`configure_threads` gives torch all cores (``AISEARCH_THREADS``
overrides); ONNX Runtime sessions get the same count.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import ModelLoadError

log = logging.getLogger(__name__)

# Minimum cosine between int8 and fp32 image vectors, checked once when a tower is
# built (on drawn images) and again by tests/test_precision.py.
MIN_COSINE = 0.999


def available() -> bool:
    """Whether the int8 runtime (ONNX Runtime) is installed."""
    return _has("onnxruntime")


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def cache_dir() -> Path:
    """Where built models are kept: ``$AISEARCH_CACHE`` or the user cache folder."""
    env = os.environ.get("AISEARCH_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("aisearch-widgets"))


def num_threads() -> int:
    """Threads for the model: ``$AISEARCH_THREADS`` or every core."""
    env = os.environ.get("AISEARCH_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ModelLoadError(
                f"AISEARCH_THREADS={env!r} is not a whole number; set it to a thread "
                "count such as 4, or unset it to use every core."
            ) from None
        if n >= 1:
            return n
    return os.cpu_count() or 1


def configure_threads() -> int:
    import torch

    n = num_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def check_images(n: int, size: int, seed: int = 0) -> list[Any]:
    """Photo-like and graphic images: gradients, shapes, text-like strokes, noise,
    flat colours, dark and bright frames (so the int8 ranges are exercised)."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    out = []
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(n):
        kind = i % 5
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = (xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1)) % 1
        base = c0 * (1 - t[..., None]) + c1 * t[..., None]
        if kind == 1:
            base += rng.normal(0, 40, (size, size, 3))
        elif kind == 2:
            base = np.full((size, size, 3), rng.uniform(0, 255, 3))
        elif kind == 3:
            base *= rng.uniform(0.02, 0.2)  # dark
        img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
        d = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(1, 12))):
            x0, y0 = (int(v) for v in rng.integers(0, size, 2))
            s = int(rng.integers(size // 16, size // 2))
            fill = tuple(int(v) for v in rng.uniform(0, 255, 3))
            shape = rng.integers(0, 3)
            if shape == 0:
                d.ellipse([x0, y0, x0 + s, y0 + s], fill=fill)
            elif shape == 1:
                d.rectangle([x0, y0, x0 + s, y0 + s // 2], fill=fill)
            else:
                d.line([x0, y0, x0 + s, y0 + s], fill=fill, width=int(rng.integers(1, 8)))
        if kind == 4:
            img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(1, 6))))
        out.append(img)
    return out


# -- PyTorch ---------------------------------------------------------------------------
def torch_dynamic_int8(module: Any) -> Any:
    """``torch.ao.quantization.quantize_dynamic`` on every ``nn.Linear`` (in place)."""
    import torch

    with warnings.catch_warnings():
        # Deprecated in favour of torchao, whose CPU path is far slower here (see
        # benchmarks/README.md §1); the call itself works on current torch.
        warnings.filterwarnings("ignore", message=".*quantize_dynamic.*", category=Warning)
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*", category=Warning)
        return torch.ao.quantization.quantize_dynamic(
            module, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
        )


def torchao_int8(module: Any) -> Any:
    """torchao int8 dynamic activations, int8 weights on every ``nn.Linear`` (in place)."""
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    quantize_(module, Int8DynamicActivationInt8WeightConfig())
    return module


# -- ONNX Runtime ----------------------------------------------------------------------
class _ImageTower:
    """A module whose ``forward`` is ``encode_image`` (what gets exported)."""

    @staticmethod
    def wrap(model: Any) -> Any:
        import torch

        class ImageTower(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, pixels: torch.Tensor) -> torch.Tensor:
                return self.model.encode_image(pixels)

        return ImageTower().eval()


def _atomic_target(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def _publish(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def export_image_onnx(model: Any, image_size: int, path: Path) -> Path:
    """Export ``model.encode_image`` (batch dimension dynamic) to ``path``, atomically."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _atomic_target(path)
    x = torch.zeros(2, 3, image_size, image_size)
    try:
        # Grad enabled: under no_grad nn.MultiheadAttention takes a fused fast path
        # (_native_multi_head_attention) that has no ONNX export.
        with warnings.catch_warnings(), torch.inference_mode(False), torch.enable_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _ImageTower.wrap(model),
                (x,),
                str(tmp),
                input_names=["pixels"],
                output_names=["vectors"],
                dynamic_axes={"pixels": {0: "batch"}, "vectors": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        _publish(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def quantize_onnx(src: Path, dst: Path) -> Path:
    """Int8 weights (dynamic activations) on MatMul/Gemm; atomically to ``dst``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = _atomic_target(dst)
    quiet = DropRecords("pre-processing before quantization")
    logging.getLogger().addFilter(quiet)  # a root-logger hint that users cannot act on
    try:
        quantize_dynamic(
            str(src),
            str(tmp),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm"],
            reduce_range=not has_vnni(),
        )
        _publish(tmp, dst)
    finally:
        logging.getLogger().removeFilter(quiet)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return dst


class DropRecords(logging.Filter):
    """A logging filter that drops the records whose message contains ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


class OrtTower:
    """An ONNX image tower: ``tower(pixels)`` → unnormalised vectors (numpy float32)."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads or num_threads()
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = Path(path)
        self.session = ort.InferenceSession(
            str(path), sess_options=so, providers=["CPUExecutionProvider"]
        )

    def __call__(self, pixels: Any) -> np.ndarray:
        x = pixels.numpy() if hasattr(pixels, "numpy") else np.asarray(pixels)
        x = np.ascontiguousarray(x, dtype=np.float32)
        return self.session.run(None, {"pixels": x})[0]


def has_vnni() -> bool:
    """Whether this x86 CPU has VNNI. Without it ONNX Runtime's u8s8 int8 kernels
    (VPMADDUBSW) can saturate and lose accuracy, so weights are quantized to 7 bits
    (``reduce_range``), as ONNX Runtime's quantization guide advises; measured here on
    an AVX2-only CPU: the demo model's cosine to fp32 went from 0.996 to above 0.999."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            flags = fh.read(200_000)
    except OSError:
        return True  # not Linux/x86: keep the 8-bit weights measured before
    if " avx2" not in flags:
        return True  # not x86 (e.g. Arm): the saturation does not apply
    return "vnni" in flags


def versions() -> dict[str, str]:
    import open_clip
    import torch

    out = {"torch": torch.__version__, "open_clip": open_clip.__version__}
    with contextlib.suppress(ImportError):
        import onnxruntime

        out["onnxruntime"] = onnxruntime.__version__
    with contextlib.suppress(ImportError):
        import onnx

        out["onnx"] = onnx.__version__
    return out


def cache_key(identity: str, precision: str, backend: str) -> str:
    blob = json.dumps(
        [identity, precision, backend, versions(), {"reduce_range": not has_vnni()}],
        sort_keys=True,
    )
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in identity)[:60]
    return f"{safe}-{precision}-{backend}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def _agreement(model: Any, tower: OrtTower, image_size: int, n: int = 32) -> float:
    """Minimum cosine between the fp32 and the int8 vectors of ``n`` drawn images,
    with a plain resize + normalisation (the tower's inputs only need to be varied)."""
    import torch

    x = _probe_pixels(image_size, n)
    with torch.inference_mode():
        ref = model.encode_image(x).float().numpy()
    got = tower(x)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    got /= np.linalg.norm(got, axis=1, keepdims=True)
    return float((ref * got).sum(1).min())


class _Damaged(Exception):
    """A cached tower that must not be used (its bytes changed, or it gives NaN)."""


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _probe_pixels(image_size: int, n: int) -> Any:
    """``n`` drawn images as a model input (plain resize and normalisation)."""
    import torch

    imgs = check_images(n, image_size)
    x = torch.from_numpy(np.stack([np.asarray(im, np.float32) / 255 for im in imgs]))
    return ((x - 0.45) / 0.27).permute(0, 3, 1, 2).contiguous()


def _load_cached(path: Path, meta: Path, model: Any, image_size: int) -> OrtTower:
    """The cached tower at ``path`` once it passed its checks: its bytes are those
    recorded when it was built (a bit flip on disk can make every vector NaN while
    the file still loads) and it gives finite vectors. A cache written before digests
    were recorded is compared with fp32 on a few images instead, then given one."""
    info = json.loads(meta.read_text())
    want = info.get("sha256")
    if want is not None and _sha256(path) != want:
        raise _Damaged("its bytes changed since it was built")
    tower = OrtTower(path)
    out = tower(_probe_pixels(image_size, 2))
    if not np.isfinite(out).all():
        raise _Damaged("it gives NaN or infinite vectors")
    if want is None:
        cos = _agreement(model, tower, image_size, n=4)
        if not cos >= MIN_COSINE:  # NaN fails too
            raise _Damaged(f"its vectors differ from fp32 (minimum cosine {cos:.4f})")
        info["sha256"] = _sha256(path)
        with contextlib.suppress(OSError):  # a read-only cache stays usable
            tmp = _atomic_target(meta)
            tmp.write_text(json.dumps(info, indent=2))
            _publish(tmp, meta)
    return tower


def int8_tower(model: Any, identity: str, image_size: int) -> OrtTower:
    """The int8 ONNX Runtime image tower of ``model`` (whose weights ``identity``
    names): loaded from the cache, or exported, quantised, checked against fp32 and
    cached. A cached tower that is damaged (see :func:`_load_cached`) is built again,
    with a warning. Raises :class:`ModelLoadError` if ONNX Runtime is missing or the
    int8 vectors disagree with fp32."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise ModelLoadError(
            f"precision='int8' needs ONNX Runtime ({exc}): it is a dependency "
            "of aisearch-widgets: pip install onnxruntime onnx, or use precision='fp32'."
        ) from exc
    folder = cache_dir()
    key = cache_key(identity, "int8", "ort")
    path, meta = folder / f"{key}.onnx", folder / f"{key}.json"
    if path.is_file() and meta.is_file():
        try:
            return _load_cached(path, meta, model, image_size)
        except Exception as exc:  # a damaged cache file: build it again
            log.warning("the cached int8 model %s is damaged (%s): building it again", path, exc)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=folder, prefix=".build-") as tmp:
        fp32 = export_image_onnx(model, image_size, Path(tmp) / "fp32.onnx")
        quantize_onnx(fp32, Path(tmp) / "int8.onnx")
        tower = OrtTower(Path(tmp) / "int8.onnx")
        cos = _agreement(model, tower, image_size)
        if not cos >= MIN_COSINE:  # NaN vectors give a NaN cosine: refused too
            raise ModelLoadError(
                f"int8 vectors of {identity} differ from fp32 (minimum cosine {cos:.4f} < "
                f"{MIN_COSINE} on drawn images); use precision='fp32' for this model."
            )
        digest = _sha256(Path(tmp) / "int8.onnx")
        os.replace(Path(tmp) / "int8.onnx", path)  # same folder: atomic
    info = {
        "identity": identity,
        "versions": versions(),
        "min_cosine": round(cos, 6),
        "build_s": round(time.perf_counter() - t0, 1),
        "sha256": digest,
    }
    tmp_meta = _atomic_target(meta)
    tmp_meta.write_text(json.dumps(info, indent=2))
    _publish(tmp_meta, meta)
    log.info("built int8 image tower %s in %.1f s (min cosine %.5f)", path, info["build_s"], cos)
    return OrtTower(path)
