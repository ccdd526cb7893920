"""Vector store benchmark: Qdrant Edge configurations against numpy brute force.

    .venv/bin/python benchmarks/bench_store.py --n 100000
    .venv/bin/python benchmarks/bench_store.py --n 1000000 --configs exact-f32,int8-noindex,adapter

Data: ``--n`` 512-d unit vectors drawn as a mixture of ~1000 clusters of varied
size (Zipf-like) and spread, around a shared "modality" direction (CLIP image
embeddings sit in a narrow cone: unrelated images still have cosine ~0.3-0.5).
Two query kinds:

* image-like: a stored vector plus a small perturbation (top-1 cosine ~0.9);
* prompt-like: a cluster direction mixed with a large random component orthogonal
  to it, scaled so that the cosine to the nearest stored vector is ~0.3, as CLIP
  text queries are. Their top-100 scores lie within a few hundredths of each
  other, which is what makes approximate search and quantization lose recall.

For each configuration: upsert rate (batches of 1000 through the adapter's code
path, flush at the end), build time (``optimize()``, where the configuration needs
it), query latency p50/p95 at limit=100 and limit=1000, recall@100 against exact
numpy top-100, and reopen time (close, load, one query). Prints a table and writes
benchmarks/results/store-<n>.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

DIM = 512
BATCH = 1000  # what the indexer hands the store at a time
LIMITS = (100, 1000)


# --------------------------------------------------------------------------- data


@dataclass
class Data:
    vectors: np.ndarray  # (n, DIM) float32, unit rows
    centers: np.ndarray  # (k, DIM) float32, unit rows
    labels: np.ndarray  # (n,) cluster of each row


def make_data(n: int, clusters: int, seed: int = 0) -> Data:
    """Clustered unit vectors, built in chunks so 1M rows need no big temporaries."""
    rng = np.random.default_rng(seed)
    common = _unit(rng.standard_normal(DIM))
    # Cluster centres share a common direction: with weight 0.6 on it, two unrelated
    # centres have cosine ~0.36, like two unrelated CLIP image embeddings.
    raw = _unit(rng.standard_normal((clusters, DIM)))
    centers = _unit(0.6 * common[None, :] + 0.8 * raw)
    # Zipf-like sizes: a few big albums, a long tail of small ones.
    weights = 1.0 / np.arange(1, clusters + 1) ** 0.8
    labels = rng.choice(clusters, size=n, p=weights / weights.sum())
    # Spread per cluster: cosine to the centre from ~0.9 (tight bursts of similar
    # photos) down to ~0.6 (loose themes). noise sigma s gives cos ~ 1/sqrt(1+s^2).
    spread = rng.uniform(0.5, 1.3, clusters).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for i in range(0, n, 65536):
        lab = labels[i : i + 65536]
        noise = rng.standard_normal((len(lab), DIM), dtype=np.float32) / np.sqrt(DIM)
        out[i : i + len(lab)] = _unit(centers[lab] + spread[lab, None] * noise)
    return Data(out, centers.astype(np.float32), labels)


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


def image_queries(d: Data, q: int, rng: np.random.Generator) -> np.ndarray:
    """Near-duplicates of stored images (a re-encoded or cropped copy)."""
    rows = d.vectors[rng.choice(len(d.vectors), q, replace=False)]
    noise = rng.standard_normal((q, DIM)).astype(np.float32) / np.sqrt(DIM)
    return _unit(rows + 0.45 * noise)


def prompt_queries(d: Data, q: int, rng: np.random.Generator) -> np.ndarray:
    """Text-like queries: ~0.3 cosine to the best stored image.

    q = s*c + sqrt(1-s^2)*r with c a cluster centre and r a random unit vector
    orthogonal to c; s is picked from the cluster's best member so that the
    s*c part gives it 0.26; r adds ~+0.04 more to the best of many candidates.
    """
    cl = rng.choice(d.labels, q, replace=False)  # clusters weighted by their size
    out = np.empty((q, DIM), dtype=np.float32)
    for j, c in enumerate(cl):
        ctr = d.centers[c]
        best = float((d.vectors[d.labels == c] @ ctr).max())
        s = min(0.26 / best, 1.0)
        r = rng.standard_normal(DIM).astype(np.float32)
        r -= (r @ ctr) * ctr
        out[j] = s * ctr + np.sqrt(1 - s * s) * _unit(r)
    return _unit(out)


def exact_topk(m: np.ndarray, qs: np.ndarray, k: int) -> list[np.ndarray]:
    """Exact top-k row indices by dot product, best first (ground truth)."""
    out = []
    for i in range(0, len(qs), 16):
        s = qs[i : i + 16] @ m.T
        part = np.argpartition(-s, k, axis=1)[:, :k]
        for row, idx in zip(s, part, strict=True):
            out.append(idx[np.argsort(-row[idx], kind="stable")])
    return out


# --------------------------------------------------------------------------- configs


@dataclass
class Variant:
    name: str
    params: Any  # qe.SearchParams


@dataclass
class ShardConfig:
    name: str
    desc: str
    make: Callable[[], Any]  # -> qe.EdgeConfig
    optimize: bool
    variants: list[Variant]
    extra: dict[str, Any] = field(default_factory=dict)


def _vparams(**kw: Any) -> Any:
    return qe.EdgeVectorParams(size=DIM, distance=qe.Distance.Cosine, **kw)


def _int8() -> Any:
    return qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=0.99, always_ram=True)


def _q(rescore: bool, oversampling: float) -> Any:
    return qe.QuantizationSearchParams(rescore=rescore, oversampling=oversampling)


# m=0 turns HNSW graph building off: optimize() then only rewrites the appendable
# segments into compact, quantized plain segments, which takes seconds, not minutes.
_NO_GRAPH = {"m": 0, "ef_construct": 100, "full_scan_threshold": 10_000}


def configs() -> dict[str, ShardConfig]:
    exact = qe.SearchParams(exact=True)
    cfgs = [
        ShardConfig(
            "exact-f32",
            "float32, appendable segments as written, exact scan (current adapter)",
            lambda: qe.EdgeConfig(vectors=_vparams()),
            False,
            [Variant("exact", exact)],
        ),
        ShardConfig(
            "exact-f32-opt",
            "float32, optimize() with no graph (m=0), exact scan",
            lambda: qe.EdgeConfig(vectors=_vparams(), hnsw_config=qe.HnswIndexConfig(**_NO_GRAPH)),
            True,
            [Variant("exact", exact)],
        ),
        ShardConfig(
            "f16",
            "float16 storage, exact scan",
            lambda: qe.EdgeConfig(vectors=_vparams(datatype=qe.VectorStorageDatatype.Float16)),
            False,
            [Variant("exact", exact)],
        ),
        ShardConfig(
            "int8-noindex",
            "int8 SQ (in RAM) + optimize() with no graph (m=0)",
            lambda: qe.EdgeConfig(
                vectors=_vparams(),
                quantization_config=_int8(),
                hnsw_config=qe.HnswIndexConfig(**_NO_GRAPH),
            ),
            True,
            [
                Variant("exact", exact),
                Variant("exact+q os2", qe.SearchParams(exact=True, quantization=_q(True, 2.0))),
                Variant("plain+q os1", qe.SearchParams(exact=False, quantization=_q(True, 1.0))),
                Variant("plain+q os2", qe.SearchParams(exact=False, quantization=_q(True, 2.0))),
                Variant("plain+q os4", qe.SearchParams(exact=False, quantization=_q(True, 4.0))),
            ],
        ),
        ShardConfig(
            "bq2-noindex",
            "2-bit binary quantization (8-bit query) + optimize() with no graph",
            lambda: qe.EdgeConfig(
                vectors=_vparams(),
                quantization_config=qe.BinaryQuantizationConfig(
                    always_ram=True,
                    encoding=qe.BinaryQuantizationEncoding.TwoBits,
                    query_encoding=qe.BinaryQuantizationQueryEncoding.Scalar8Bits,
                ),
                hnsw_config=qe.HnswIndexConfig(**_NO_GRAPH),
            ),
            True,
            [
                Variant("plain+q os4", qe.SearchParams(exact=False, quantization=_q(True, 4.0))),
                Variant("plain+q os10", qe.SearchParams(exact=False, quantization=_q(True, 10.0))),
            ],
        ),
        ShardConfig(
            "tq4-noindex",
            "TurboQuant 4-bit + optimize() with no graph",
            lambda: qe.EdgeConfig(
                vectors=_vparams(),
                quantization_config=qe.TurboQuantQuantizationConfig(
                    always_ram=True, bits=qe.TurboQuantBitSize.Bits4
                ),
                hnsw_config=qe.HnswIndexConfig(**_NO_GRAPH),
            ),
            True,
            [
                Variant("plain+q os2", qe.SearchParams(exact=False, quantization=_q(True, 2.0))),
                Variant("plain+q os4", qe.SearchParams(exact=False, quantization=_q(True, 4.0))),
            ],
        ),
        ShardConfig(
            "hnsw",
            "float32 HNSW (m=16, ef_construct=100) built by optimize()",
            lambda: qe.EdgeConfig(vectors=_vparams()),
            True,
            [
                Variant("ef256", qe.SearchParams(hnsw_ef=256)),
                Variant("ef512", qe.SearchParams(hnsw_ef=512)),
                Variant("ef1024", qe.SearchParams(hnsw_ef=1024)),
            ],
        ),
        ShardConfig(
            "hnsw-int8",
            "HNSW + int8 SQ, rescoring",
            lambda: qe.EdgeConfig(vectors=_vparams(), quantization_config=_int8()),
            True,
            [
                Variant("ef512 os4", qe.SearchParams(hnsw_ef=512, quantization=_q(True, 4.0))),
            ],
        ),
    ]
    return {c.name: c for c in cfgs}


# --------------------------------------------------------------------------- measuring


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p))


def recall(got: list[list[int]], truth: list[np.ndarray], k: int = 100) -> float:
    hits = [len(set(g[:k]) & set(t[:k].tolist())) for g, t in zip(got, truth, strict=True)]
    return float(np.mean(hits)) / k


class Runner:
    """Queries a shard the way EdgeStore.query does (payload included, one request
    per call), timing each call end to end from Python."""

    def __init__(self, shard: Any, index_of: dict[str, int]) -> None:
        self.shard = shard
        self.index_of = index_of

    def one(self, q: np.ndarray, limit: int, params: Any) -> tuple[float, list[int]]:
        t0 = time.perf_counter()
        res = self.shard.query(
            qe.QueryRequest(
                limit=limit, query=qe.Query.Nearest(q.tolist()), with_payload=True, params=params
            )
        )
        hits = [(str(p.id), float(p.score), dict(p.payload or {})) for p in res]
        dt = time.perf_counter() - t0
        return dt, [self.index_of[h[0]] for h in hits]


def measure_queries(
    run: Callable[[np.ndarray, int], tuple[float, list[int]]],
    queries: dict[str, np.ndarray],
    truth: dict[str, list[np.ndarray]],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, qs in queries.items():
        run(qs[0], 100)  # warm-up (page cache, thread pool)
        for limit in LIMITS:
            lat, got = [], []
            for q in qs:
                dt, ids = run(q, limit)
                lat.append(dt * 1000)
                got.append(ids)
            out[f"{kind}_l{limit}_p50_ms"] = round(pct(lat, 50), 2)
            out[f"{kind}_l{limit}_p95_ms"] = round(pct(lat, 95), 2)
            out[f"{kind}_l{limit}_recall100"] = round(recall(got, truth[kind]), 4)
    return out


def bench_shard(
    cfg: ShardConfig,
    d: Data,
    ids: list[str],
    queries: dict[str, np.ndarray],
    truth: dict[str, list[np.ndarray]],
    workdir: Path,
) -> list[dict[str, Any]]:
    path = workdir / cfg.name
    shutil.rmtree(path, ignore_errors=True)
    index_of = {s: i for i, s in enumerate(ids)}
    shard = qe.EdgeShard.create(str(path), cfg.make())
    n = len(d.vectors)
    t0 = time.perf_counter()
    for i in range(0, n, BATCH):
        rows = d.vectors[i : i + BATCH]
        pts = [
            qe.Point(ids[i + j], r.tolist(), {"path": f"/photos/{i + j}.jpg", "source": "bench"})
            for j, r in enumerate(rows)
        ]
        shard.update(qe.UpdateOperation.upsert_points(pts))
    shard.flush()
    upsert_s = time.perf_counter() - t0
    build_s = 0.0
    if cfg.optimize:
        t0 = time.perf_counter()
        shard.optimize()
        shard.flush()
        build_s = time.perf_counter() - t0
    info = shard.info()
    base = {
        "config": cfg.name,
        "desc": cfg.desc,
        "n": n,
        "upsert_per_s": round(n / upsert_s),
        "build_s": round(build_s, 1),
        "segments": info.segments_count,
        "indexed_vectors": info.indexed_vectors_count,
        "disk_mb": round(_du(path) / 2**20),
    }
    print(
        f"  {cfg.name}: upsert {base['upsert_per_s']}/s, build {build_s:.1f}s, "
        f"{info.segments_count} segments",
        flush=True,
    )
    rows_out = []
    for v in cfg.variants:
        r = Runner(shard, index_of)
        res = measure_queries(lambda q, lim, v=v, r=r: r.one(q, lim, v.params), queries, truth)
        rows_out.append({**base, "variant": v.name, **res})
        print(f"    {v.name}: {_brief(res)}", flush=True)
    # Reopen: what opening a project costs before its first search (page cache warm).
    shard.close()
    del shard
    gc.collect()
    t0 = time.perf_counter()
    shard = qe.EdgeShard.load(str(path))
    # The last variant is the configuration's intended use (the quantized one, say).
    Runner(shard, index_of).one(queries["prompt"][0], 100, cfg.variants[-1].params)
    reopen_s = time.perf_counter() - t0
    shard.close()
    for r in rows_out:
        r["reopen_s"] = round(reopen_s, 3)
    shutil.rmtree(path, ignore_errors=True)
    return rows_out


def bench_adapter(
    d: Data,
    ids: list[str],
    queries: dict[str, np.ndarray],
    truth: dict[str, list[np.ndarray]],
    workdir: Path,
) -> list[dict[str, Any]]:
    """The adapter as shipped (EdgeStore defaults), through its public methods."""
    from aisearch_widgets.store.edge import EdgeStore

    path = workdir / "adapter"
    shutil.rmtree(path, ignore_errors=True)
    index_of = {s: i for i, s in enumerate(ids)}
    store = EdgeStore(path, DIM)
    n = len(d.vectors)
    t0 = time.perf_counter()
    for i in range(0, n, BATCH):
        chunk = ids[i : i + BATCH]
        store.upsert(chunk, d.vectors[i : i + BATCH])
    upsert_s = time.perf_counter() - t0
    # flush() is where the adapter runs the optimizer when enough points are pending:
    # here all n of them, so this is the one-off build cost.
    t0 = time.perf_counter()
    store.flush()
    store.optimize()  # a no-op when flush() already optimized
    build_s = time.perf_counter() - t0

    def run(q: np.ndarray, limit: int) -> tuple[float, list[int]]:
        t = time.perf_counter()
        hits = store.query(q[None, :], limit)[0]
        return time.perf_counter() - t, [index_of[h.id] for h in hits]

    res = measure_queries(run, queries, truth)
    store.close()
    gc.collect()
    t0 = time.perf_counter()
    store = EdgeStore(path, DIM)
    store.query(queries["prompt"][:1], 100)
    reopen_s = time.perf_counter() - t0
    store.close()
    shutil.rmtree(path, ignore_errors=True)
    row = {
        "config": "adapter",
        "desc": "EdgeStore() defaults: upsert, flush() (auto-optimize), query",
        "n": n,
        "upsert_per_s": round(n / upsert_s),
        "build_s": round(build_s, 1),
        "variant": "default",
        **res,
        "reopen_s": round(reopen_s, 3),
    }
    print(f"  adapter: upsert {row['upsert_per_s']}/s, optimize {build_s:.1f}s; {_brief(res)}")
    return [row]


def bench_numpy(
    d: Data, queries: dict[str, np.ndarray], truth: dict[str, list[np.ndarray]], f16_q: int
) -> list[dict[str, Any]]:
    rows = []
    for dt in ("float32", "float16"):
        m = d.vectors if dt == "float32" else d.vectors.astype(np.float16)
        # numpy has no float16 BLAS: its matvec is a slow generic loop, so fewer queries.
        qs = queries if dt == "float32" else {k: v[:f16_q] for k, v in queries.items()}
        tr = truth if dt == "float32" else {k: v[:f16_q] for k, v in truth.items()}

        def run(q: np.ndarray, limit: int, m: np.ndarray = m) -> tuple[float, list[int]]:
            t0 = time.perf_counter()
            s = m @ q.astype(m.dtype)
            part = np.argpartition(-s, limit)[:limit]
            top = part[np.argsort(-s[part], kind="stable")]
            return time.perf_counter() - t0, top.tolist()

        res = measure_queries(run, qs, tr)
        rows.append(
            {
                "config": f"numpy-{dt}",
                "desc": f"numpy brute force, in-RAM {dt} matrix ({len(next(iter(qs.values())))} q)",
                "n": len(d.vectors),
                "variant": "matvec",
                **res,
            }
        )
        print(f"  numpy-{dt}: {_brief(res)}", flush=True)
        del m
    return rows


def _brief(res: dict[str, Any]) -> str:
    return (
        f"prompt p50 {res['prompt_l100_p50_ms']}ms r@100 {res['prompt_l100_recall100']}; "
        f"image p50 {res['image_l100_p50_ms']}ms r@100 {res['image_l100_recall100']}"
    )


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def print_table(rows: list[dict[str, Any]]) -> None:
    hdr = (
        f"{'config':<15}{'variant':<13}{'ins/s':>8}{'build s':>8}"
        f"{'prompt p50/p95 @100':>21}{'@1000':>15}{'r@100':>7}"
        f"{'image p50/p95 @100':>20}{'@1000':>15}{'r@100':>7}{'reopen':>8}"
    )
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        cells = []
        for kind in ("prompt", "image"):
            a = f"{r[f'{kind}_l100_p50_ms']:.0f}/{r[f'{kind}_l100_p95_ms']:.0f}"
            b = f"{r[f'{kind}_l1000_p50_ms']:.0f}/{r[f'{kind}_l1000_p95_ms']:.0f}"
            w = 21 if kind == "prompt" else 20
            cells.append(f"{a:>{w}}{b:>15}{r[f'{kind}_l100_recall100']:>7.3f}")
        ins = f"{r['upsert_per_s']:>8}" if "upsert_per_s" in r else f"{'-':>8}"
        build = f"{r['build_s']:>8}" if "build_s" in r else f"{'-':>8}"
        reopen = f"{r['reopen_s']:>8.2f}" if "reopen_s" in r else f"{'-':>8}"
        print(f"{r['config']:<15}{r['variant']:<13}{ins}{build}{''.join(cells)}{reopen}")


def main() -> None:
    all_cfgs = configs()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="stored vectors")
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=50, help="queries of each kind")
    ap.add_argument("--f16-queries", type=int, default=10, help="queries for numpy float16")
    ap.add_argument(
        "--configs",
        default=",".join([*all_cfgs, "adapter", "numpy"]),
        help=f"comma-separated, from: {', '.join([*all_cfgs, 'adapter', 'numpy'])}",
    )
    ap.add_argument(
        "--variants",
        default="",
        help="only these search variants (by name), where a config has them",
    )
    ap.add_argument("--workdir", type=Path, default=None, help="where shards are built")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()

    t0 = time.perf_counter()
    d = make_data(args.n, args.clusters)
    rng = np.random.default_rng(1)
    queries = {
        "prompt": prompt_queries(d, args.queries, rng),
        "image": image_queries(d, args.queries, rng),
    }
    truth = {k: exact_topk(d.vectors, q, 1000) for k, q in queries.items()}
    # How hard the queries are: the best cosine, and how far the 100th is below it.
    top1, gap = {}, {}
    for k, qs in queries.items():
        best = np.array([d.vectors[t[0]] @ q for t, q in zip(truth[k], qs, strict=True)])
        hundredth = np.array([d.vectors[t[99]] @ q for t, q in zip(truth[k], qs, strict=True)])
        top1[k], gap[k] = float(best.mean()), float((best - hundredth).mean())
    print(
        f"data: {args.n} x {DIM}, {args.clusters} clusters, made in {time.perf_counter() - t0:.1f}s; "
        f"mean top-1 cosine prompt {top1['prompt']:.3f} image {top1['image']:.3f}; "
        f"top1-top100 gap prompt {gap['prompt']:.3f} image {gap['image']:.3f}",
        flush=True,
    )
    ids = [str(uuid.UUID(int=i + 1)) for i in range(args.n)]

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aisearch-bench-store-"))
    meta = {
        "n": args.n,
        "dim": DIM,
        "clusters": args.clusters,
        "queries_per_kind": args.queries,
        "mean_top1_cosine": top1,
        "mean_top1_minus_top100": gap,
        "cpus": os.cpu_count(),
        "qdrant_edge": _version(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"store-{args.n}.json"
    # Merge with earlier runs at the same n, so configurations can be run one by one.
    old = json.loads(out.read_text()).get("rows", []) if out.exists() else []
    rows: list[dict[str, Any]] = []
    try:
        for name in args.configs.split(","):
            if name == "numpy":
                rows += bench_numpy(d, queries, truth, args.f16_queries)
            elif name == "adapter":
                rows += bench_adapter(d, ids, queries, truth, workdir)
            else:
                cfg = all_cfgs[name]
                if args.variants:
                    keep = set(args.variants.split(","))
                    cfg.variants = [v for v in cfg.variants if v.name in keep] or cfg.variants
                rows += bench_shard(cfg, d, ids, queries, truth, workdir)
            gc.collect()
            # Saved after every configuration: a long 1M run that is cut short keeps
            # what it measured.
            done = {(r["config"], r["variant"]) for r in rows}
            kept = [r for r in old if (r["config"], r["variant"]) not in done]
            out.write_text(json.dumps({"meta": meta, "rows": kept + rows}, indent=2) + "\n")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print_table(rows)
    print(f"wrote {out}")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("qdrant-edge-py")
    except Exception:  # pragma: no cover - metadata missing
        return "?"


if __name__ == "__main__":
    main()
