"""Speed of our retrieval evaluation against faiss alone and a naive float matrix product.

Run from the repository root: ``python benchmarks/bench_retrieval.py [--quick] [--threads 2 1]``.

Data: ``--queries`` 10,000 query codes and ``--database`` 100,000 database codes of
``--bits`` 64 bits, in ``--classes`` 10 classes. Codes are class-structured, as a trained
hash gives them: each class has a random centroid code and each sample flips every bit of
its class centroid independently with probability ``--flip`` 0.2 (about 20 bits from its
own centroid, about 32 from the others). Class sizes are uniform at random.

Three ways to do the same ranking work, for each depth k in 100, 1,000 and N (= "all"):

- **ours**: ``evaluate.top_k_scores(codes, map_k=k, precision_k=min(k, 100))``, the library's
  Hamming ranking (ties by database row) plus per-query AP@k and P@100: the ranking, the
  label lookup of every ranked item and the metric bookkeeping.
- **faiss alone**: ``faiss.IndexBinaryFlat(L)`` holding the database codes and
  ``index.search(queries, k)``: the [Q, k] distances and database rows of the k nearest
  items, ordered by distance, and nothing else (no labels, no metrics). Both of faiss'
  selections run: ``use_heap=True`` (a k-heap per query, faiss' default) and
  ``use_heap=False`` (counting selection over the distances 0..L). The reference for the
  ratios is the faster of the two. At k = N only the counting selection runs: the heap
  pays a log N update per item and measured 7-10x slower there (20 queries, this machine).
  Both return ties in database-row order, which the script checks against ours.
- **naive**: the codes as ±1 float32, ``S = Q @ D.T`` with torch, then ``torch.topk(S, k)``
  (k < N; its order among equal scores is unspecified) or a stable descending sort (k = N).
  Ranking only, no metrics.

Also timed: ``evaluate(codes, map_k=1000, precision_k=100, ndcg_n=100)`` and
``evaluate(codes)`` (map_k = all), which add NDCG/ACG and the PR curve; these need per-query
distance histograms over the whole database, work faiss alone does not do. Their ratios are
taken against faiss alone at the depth they rank (1,000 and N). "distances only" is faiss'
``hammings`` computing all Q x N distances into int32, a floor for any exact method.

Every method runs on the same chunks of ``--chunk`` queries in turn (A, B, C, A, B, C, ...),
so load from other processes on the machine falls on all of them alike; the times printed
are sums over chunks. faiss and torch use ``--threads`` threads (each value is one pass);
our numpy bookkeeping is single-threaded. Peak memory is the process' maximum resident set.
Goal (issue 4): ours within 1.5x of faiss alone at the same k.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from dataclasses import dataclass, field
from typing import Callable

import faiss
import numpy as np
import torch

from spikinghash.retrieval.codes import CodeSet
from spikinghash.retrieval.scoring import evaluate, top_k_scores


@dataclass
class Data:
    """Packed codes ``[Q, B]`` / ``[N, B]`` uint8, labels, and the ±1 float32 codes for the naive path."""

    codes: CodeSet
    query_pm: torch.Tensor
    db_pm: torch.Tensor


def make_data(num_q: int, num_db: int, bits: int, classes: int, flip: float, seed: int = 0) -> Data:
    """Class-structured random codes (see the module docstring)."""
    rng = np.random.default_rng(seed)
    centroids = rng.integers(0, 2, size=(classes, bits), dtype=np.uint8)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, classes, size=n)
        return centroids[labels] ^ (rng.random((n, bits)) < flip).astype(np.uint8), labels

    (q, ql), (d, dl) = sample(num_q), sample(num_db)
    return Data(CodeSet.from_bits(q, d, ql, dl), torch.from_numpy(2.0 * q - 1).float(),
                torch.from_numpy(2.0 * d - 1).float())


def chunk_codes(codes: CodeSet, rows: slice) -> CodeSet:
    return CodeSet(codes.query_codes[rows], codes.db_codes, codes.query_labels[rows], codes.db_labels,
                   codes.bits)


def faiss_alone(index: faiss.IndexBinaryFlat, queries: np.ndarray, k: int,
                use_heap: bool) -> tuple[np.ndarray, np.ndarray]:
    index.use_heap = use_heap
    return index.search(queries, k)


def naive(query_pm: torch.Tensor, db_pm: torch.Tensor, k: int) -> torch.Tensor:
    """Rows ``[q, k]`` by descending ±1 dot product (= ascending Hamming distance)."""
    scores = query_pm @ db_pm.T
    if k < db_pm.shape[0]:
        return torch.topk(scores, k, dim=1, largest=True, sorted=True).indices
    return torch.sort(scores, dim=1, descending=True, stable=True).indices


def all_distances(queries: np.ndarray, db: np.ndarray) -> np.ndarray:
    out = np.empty((len(queries), len(db)), dtype=np.int32)
    faiss.hammings(faiss.swig_ptr(queries), faiss.swig_ptr(db), len(queries), len(db), db.shape[1],
                   faiss.swig_ptr(out))
    return out


def reference_ap(rows: np.ndarray, query_labels: np.ndarray, db_labels: np.ndarray) -> np.ndarray:
    """AP over ranked rows ``[q, k]`` by the textbook cumsum formula (cross-check only)."""
    rel = db_labels[rows] == query_labels[:, None]
    hits = np.cumsum(rel, axis=1)
    ranks = np.arange(1, rel.shape[1] + 1)
    return np.divide((rel * hits / ranks).sum(axis=1), hits[:, -1], out=np.zeros(len(rel)),
                     where=hits[:, -1] > 0)


@dataclass
class Timer:
    """Wall and CPU seconds summed over chunks, per method name."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    def __call__(self, name: str, fn: Callable[[], object]) -> object:
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - w
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - c
        return out


def run(data: Data, threads: int, chunk: int) -> None:
    faiss.omp_set_num_threads(threads)
    torch.set_num_threads(threads)
    codes = data.codes
    num_q, num_db = len(codes.query_codes), len(codes.db_codes)
    index = faiss.IndexBinaryFlat(8 * codes.query_codes.shape[1])
    index.add(codes.db_codes)
    depths = [k for k in (100, 1000) if k < num_db] + [num_db]
    timer = Timer()
    scores: dict[str, list[np.ndarray]] = {}
    worst = 0.0  # largest |AP(ours) - AP(faiss' ranking)| seen
    for start in range(0, num_q, chunk):
        rows = slice(start, min(start + chunk, num_q))
        part, queries = chunk_codes(codes, rows), codes.query_codes[rows]
        for k in depths:
            tag = "all" if k == num_db else str(k)
            ours = timer(f"ours k={tag}", lambda: top_k_scores(part, map_k="all" if k == num_db else k,
                                                               precision_k=min(k, 100)))
            _, by_count = timer(f"faiss count k={tag}", lambda: faiss_alone(index, queries, k, False))
            if k < num_db:
                _, by_heap = timer(f"faiss heap k={tag}", lambda: faiss_alone(index, queries, k, True))
                assert np.array_equal(by_heap, by_count), "faiss' two selections disagree on ties"
            ranked = timer(f"naive k={tag}", lambda: naive(data.query_pm[rows], data.db_pm, k)).numpy()
            if k == num_db:
                assert np.array_equal(ranked, by_count), "stable float sort and faiss disagree"
            few = slice(0, 20)  # the cross-check on a few queries keeps its memory small
            want = reference_ap(by_count[few], part.query_labels[few], part.db_labels)
            worst = max(worst, float(np.abs(ours.average_precision[few] - want).max()))
            scores.setdefault(f"mAP@{tag}", []).append(ours.average_precision)
            if k == depths[0]:
                scores.setdefault(f"P@{min(k, 100)}", []).append(ours.precision_at_k)
            del by_count, ranked
        timer("distances only", lambda: all_distances(queries, codes.db_codes))
        for name, kw in (("evaluate map@1000", {"map_k": min(1000, num_db)}), ("evaluate map@all", {})):
            full = timer(name, lambda: evaluate(part, precision_k=100, ndcg_n=100, **kw))
            scores.setdefault(f"{name}: mAP", []).append(full.average_precision)
            scores.setdefault(f"{name}: NDCG@100", []).append(full.ndcg_at_n)
    report(timer, depths, num_db, threads)
    print("  means: " + ", ".join(f"{k} {np.concatenate(v).mean():.4f}" for k, v in scores.items()))
    print(f"  max |AP(ours) - AP recomputed from faiss' own ranking| = {worst:.1e}")


def report(timer: Timer, depths: list[int], num_db: int, threads: int) -> None:
    """One table per clock: wall seconds (what a user waits) and CPU seconds of all threads
    (the work done, which load from other processes changes much less)."""
    print(f"\nthreads = {threads}   (seconds summed over chunks)")
    for clock, t in (("wall", timer.wall), ("cpu", timer.cpu)):
        print(f"  {clock:>4} {'k':>6} {'ours':>8} {'faiss heap':>11} {'faiss count':>12} {'naive':>8} "
              f"{'ours/faiss':>11} {'ours/naive':>11}")
        for k in depths:
            tag = "all" if k == num_db else str(k)
            heap = t.get(f"faiss heap k={tag}", float("inf"))
            ref = min(heap, t[f"faiss count k={tag}"])
            ours, naive_s = t[f"ours k={tag}"], t[f"naive k={tag}"]
            heap_txt = f"{heap:11.2f}" if heap != float("inf") else f"{'(not run)':>11}"
            print(f"  {'':>4} {tag:>6} {ours:8.2f} {heap_txt} {t[f'faiss count k={tag}']:12.2f} "
                  f"{naive_s:8.2f} {ours / ref:11.2f} {ours / naive_s:11.2f}")
        for name, k in (("evaluate map@1000", min(1000, num_db)), ("evaluate map@all", num_db)):
            tag = "all" if k == num_db else str(k)
            ref = min(t.get(f"faiss heap k={tag}", float("inf")), t[f"faiss count k={tag}"])
            print(f"  {'':>4} {name}: {t[name]:.2f} s, {t[name] / ref:.2f}x faiss alone at k={tag}")
        print(f"  {'':>4} distances only (faiss hammings, all pairs): {t['distances only']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--database", type=int, default=100_000)
    parser.add_argument("--bits", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--flip", type=float, default=0.2)
    parser.add_argument("--chunk", type=int, default=250, help="queries per interleaved chunk")
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--quick", action="store_true", help="1,000 queries x 20,000 codes")
    args = parser.parse_args()
    if args.quick:
        args.queries, args.database = 1_000, 20_000
    print(f"{args.queries} queries x {args.database} database codes, {args.bits} bits, "
          f"{args.classes} classes, flip {args.flip}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    data = make_data(args.queries, args.database, args.bits, args.classes, args.flip)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    for threads in args.threads:
        run(data, threads, args.chunk)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\npeak resident memory {peak:.2f} GiB ({base:.2f} GiB after making the data); "
          f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
