"""Diverse sampling: the quality and the cost of its k-means, old code against new,
on generated clustered data whose true groups are known.

    .venv/bin/python benchmarks/bench_diverse.py                  # 200k population
    .venv/bin/python benchmarks/bench_diverse.py --old 2395fc8 --n 200000 --seeds 3

``--old`` is a revision whose ``aisearch_widgets/diverse.py`` is loaded from git as
the old code (default: the k-means before its speed-up); the new code is the working
tree. Each variant picks ``--picks`` images with ``sample_diverse`` (method
``centroids``) from the first ``sample`` points of the population (diverse() reads a
uniform subset the same way), and is judged on the whole population:

* ``covered``: distinct true groups among the picks (more is better);
* ``rare``: of the smallest groups (the ``rare`` data: 20 far-off groups of 0.05 %
  each), how many have a pick;
* ``mean_d`` / ``p99_d``: the cosine distance of every point of the population to its
  nearest pick, mean and 99th percentile (less is better);
* ``cpu_s`` / ``wall_s``: the k-means and picking alone (``sample_diverse``).

Variants run in turn (order alternating per run) on the same data and seed; the
summary gives each variant's means and, for ``new*``, the mean paired difference to
``old`` with its standard error over the runs (data seeds x algorithm seeds).
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_store import make_data  # noqa: E402

import aisearch_widgets.diverse as new_diverse  # noqa: E402

OLD_REV = "2395fc8"  # the last change of diverse.py before the faster k-means
DIM = 512


def load_old(rev: str) -> types.ModuleType:
    """``aisearch_widgets/diverse.py`` at ``rev``, as a module of the package (its
    relative imports resolve against the working tree's other modules)."""
    src = subprocess.run(
        ["git", "show", f"{rev}:aisearch_widgets/diverse.py"],
        cwd=HERE.parent,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    mod = types.ModuleType("aisearch_widgets._diverse_old")
    mod.__package__ = "aisearch_widgets"
    exec(compile(src, f"{rev}:diverse.py", "exec"), mod.__dict__)  # our own file, old
    return mod


def _unit(m: np.ndarray) -> np.ndarray:
    return (m / np.linalg.norm(m, axis=-1, keepdims=True)).astype(np.float32)


def rare_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """100 groups of Zipf-like sizes (bench_store's albums) plus 20 far-off groups of
    0.05 % each (labels 1000-1019; off the albums' shared direction, so ~0.4 further
    in cosine), shuffled: the rare modes diverse sampling is for."""
    n_rare = max(1, n // 2000)
    d = make_data(n - 20 * n_rare, 100, seed)
    rng = np.random.default_rng(seed + 100)
    own = _unit(rng.standard_normal((20, DIM)))
    noise = rng.standard_normal((20 * n_rare, DIM)).astype(np.float32) / np.sqrt(DIM)
    rare = _unit(np.repeat(own, n_rare, axis=0) + 0.5 * noise)
    vecs = np.concatenate([d.vectors, rare])
    labels = np.concatenate([d.labels, 1000 + np.repeat(np.arange(20), n_rare)])
    order = rng.permutation(len(vecs))
    return vecs[order], labels[order]


def datasets(n: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for name, groups in (("albums1000", 1000), ("classes100", 100)):
        d = make_data(n, groups, seed)
        out[name] = (d.vectors, d.labels)
    out["rare"] = rare_data(n, seed)
    return out


def judge(
    vecs: np.ndarray, labels: np.ndarray, picks: np.ndarray, rare: set[int]
) -> dict[str, float]:
    near = np.empty(len(vecs), np.float32)
    for s in range(0, len(vecs), 65536):
        near[s : s + 65536] = 1.0 - (vecs[s : s + 65536] @ vecs[picks].T).max(axis=1)
    got = set(labels[picks].tolist())
    return {
        "covered": len(got),
        "rare": len(got & rare),
        "mean_d": float(near.mean()),
        "p99_d": float(np.quantile(near, 0.99)),
    }


def run_variant(
    sample_diverse: Callable, vecs: np.ndarray, sample: int, picks: int, seed: int
) -> tuple[np.ndarray, float, float]:
    sub = vecs[:sample]
    ids = [str(i) for i in range(len(sub))]
    c0, t0 = time.process_time(), time.perf_counter()
    df, _ = sample_diverse(ids, sub, n=picks, method="centroids", seed=seed)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    return df["id"].astype(int).to_numpy(), cpu, wall


def variants(old: types.ModuleType, names: list[str]) -> dict[str, tuple[Callable, int]]:
    """name -> (sample_diverse, sample size)."""

    def with_restarts(n_init: int) -> Callable:
        def call(*a, **kw):
            saved = new_diverse.cluster
            new_diverse.cluster = functools.partial(saved, n_init=n_init)
            try:
                return new_diverse.sample_diverse(*a, **kw)
            finally:
                new_diverse.cluster = saved

        return call

    def settled(every: int) -> Callable:
        def call(*a, **kw):
            saved = new_diverse.SETTLED
            new_diverse.SETTLED = every
            try:
                return new_diverse.sample_diverse(*a, **kw)
            finally:
                new_diverse.SETTLED = saved

        return call

    table = {
        "old": (old.sample_diverse, 10_000),
        "new": (new_diverse.sample_diverse, 10_000),
        "new_2restarts": (with_restarts(2), 10_000),
        "new_5k": (new_diverse.sample_diverse, 5_000),
        "new_settle1000": (settled(1000), 10_000),  # the tolerance before
    }
    return {k: table[k] for k in names}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", default=OLD_REV, help="git revision of the old diverse.py")
    ap.add_argument("--n", type=int, default=200_000, help="population per data set")
    ap.add_argument("--seeds", type=int, default=3, help="data seeds (and as many k-means seeds)")
    ap.add_argument("--picks", type=int, default=100)
    ap.add_argument("--variants", default="old,new,new_5k")
    ap.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    ap.add_argument("--store", type=Path, default=None, help="an Edge shard: end to end")
    ap.add_argument("--rounds", type=int, default=4, help="with --store: old/new pairs")
    args = ap.parse_args()
    if args.store is not None:
        end_to_end(load_old(args.old), args.store, args.rounds, args.picks)
        return
    table = variants(load_old(args.old), args.variants.split(","))
    rows: list[dict[str, object]] = []
    r = 0
    for dseed in range(args.seeds):
        for dname, (vecs, labels) in datasets(args.n, dseed).items():
            sizes = np.bincount(labels)
            rare = {int(g) for g in np.flatnonzero(sizes) if g >= 1000}
            for aseed in range(args.seeds):
                names = list(table) if r % 2 == 0 else list(table)[::-1]
                r += 1
                for name in names:
                    fn, sample = table[name]
                    picks, cpu, wall = run_variant(fn, vecs, sample, args.picks, aseed)
                    row = {"data": dname, "dseed": dseed, "seed": aseed, "variant": name}
                    row |= judge(vecs, labels, picks, rare) | {"cpu_s": cpu, "wall_s": wall}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    summary(rows, list(table))


def end_to_end(old: types.ModuleType, path: Path, rounds: int, picks: int) -> None:
    """diverse() of an existing shard as the project runs it, unscoped: the read of the
    10k sample (as shipped, both variants) then the old or the new k-means and picks,
    alternated; wall and CPU of each."""
    from aisearch_widgets.store.edge import EdgeStore

    store = EdgeStore(path)
    times: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    for r in range(rounds):
        for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
            mod = old if name == "old" else new_diverse
            c0, t0 = time.process_time(), time.perf_counter()
            ids, vecs, _, _ = new_diverse.load_vectors(store, 10_000)
            read = time.perf_counter() - t0
            mod.sample_diverse(ids, vecs, n=picks, method="centroids", seed=0)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            times[name].append((wall, cpu))
            print(
                f"{name}: read {read:.2f} s, total {wall:.2f} s wall, {cpu:.2f} s cpu", flush=True
            )
    store.close()
    for k, what in ((0, "wall"), (1, "cpu")):
        med = {n: statistics.median(t[k] for t in v) for n, v in times.items()}
        pairs = [n[k] / o[k] for n, o in zip(times["new"], times["old"], strict=True)]
        print(
            f"{what}: old {med['old']:.2f} s, new {med['new']:.2f} s, "
            f"new/old paired {statistics.median(pairs):.2f}"
        )


def summary(rows: list[dict], names: list[str]) -> None:
    metrics = ("covered", "rare", "mean_d", "p99_d", "cpu_s", "wall_s")
    for dname in sorted({r["data"] for r in rows}):
        print(f"\n{dname}: mean over runs (paired difference to old, +- standard error)")
        by = {(r["variant"], r["dseed"], r["seed"]): r for r in rows if r["data"] == dname}
        keys = sorted({(d, s) for (_, d, s) in by})
        for name in names:
            cells = []
            for m in metrics:
                vals = [by[(name, *k)][m] for k in keys]
                cell = f"{m} {statistics.mean(vals):.4g}"
                if name != "old" and ("old", *keys[0]) in by:
                    diff = [by[(name, *k)][m] - by[("old", *k)][m] for k in keys]
                    se = statistics.stdev(diff) / len(diff) ** 0.5 if len(diff) > 1 else 0.0
                    cell += f" ({statistics.mean(diff):+.3g} +- {se:.2g})"
                cells.append(cell)
            print(f"  {name:14s} " + ", ".join(cells))


if __name__ == "__main__":
    main()
