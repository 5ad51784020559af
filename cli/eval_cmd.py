"""``spikinghash eval RUN_DIR`` and ``spikinghash search RUN_DIR --sample SPLIT:INDEX -k K``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from spikinghash.errors import ConfigError


def _cutoff(text: str) -> int | str:
    if text == "all":
        return "all"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer or 'all'") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="encode query/database, store codes + index, write eval.json and plots")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--map-k", type=_cutoff, help="mAP cutoff: an integer or 'all' [the run's map_k]")
    p.add_argument("--precision-k", type=_cutoff, default=100, help="P@k cutoff [100]")
    p.add_argument("--ndcg-n", type=_cutoff, default=100, help="ACG/NDCG cutoff [100]")
    p.add_argument("--ties", default="index", help="tie rule: index (by database row) or average [index]")
    p.add_argument("--index", default="flat", help="faiss binary index: flat (exact), hnsw or ivf [flat]")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("search", help="top-k database neighbours of one sample (after `eval`)")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--sample", required=True, metavar="SPLIT:INDEX", help="e.g. query:0 or database:12")
    p.add_argument("-k", type=int, default=10, help="neighbours to show [10]")
    p.set_defaults(func=cmd_search)


def cmd_eval(args: argparse.Namespace) -> int:
    from spikinghash.pipeline.evaluate import evaluate_run

    t0 = time.perf_counter()
    s = evaluate_run(args.run_dir, map_k=args.map_k, precision_k=args.precision_k, ndcg_n=args.ndcg_n,
                     ties=args.ties, index_kind=args.index)
    print(f"{s['model']} on {s['data']}, {s['bits']} bits, epoch {s['epoch']}: {s['queries']} queries")
    print(f"  mAP@{s['map_k']} {s['map']:.4f} | P@{s['precision_k']} {s['precision']:.4f} | "
          f"ACG@{s['ndcg_n']} {s['acg']:.4f} | NDCG@{s['ndcg_n']} {s['ndcg']:.4f}")
    print(f"  accuracy top-1 {s['accuracy_top1']:.4f} | top-5 {s['accuracy_top5']:.4f} (classifier on the "
          f"{s['classifier_input']}{'' if s['classifier_trained'] else ', untrained'}, query split)")
    print(f"wrote eval.json, codes.npz, logits.npz, index.npz and plots to {args.run_dir} ({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from spikinghash.pipeline.evaluate import class_names, search_run

    split, sep, index = args.sample.partition(":")
    if not sep or not index.isdigit():
        raise ConfigError(f"--sample {args.sample!r} is not SPLIT:INDEX; e.g. --sample query:0")
    n = search_run(args.run_dir, split, int(index), args.k)
    names = class_names(args.run_dir)
    print(f"{split}:{index} (class {names[n.label]}) — nearest database codes"
          + (" (itself left out)" if n.self_excluded else ""))
    print(f"{'rank':>4} {'database':>8} {'hamming':>7}  class")
    for r, (i, d, lab) in enumerate(zip(n.result.indices[0], n.result.distances[0], n.result.labels[0]), 1):
        mark = "  *" if lab == n.label else ""
        print(f"{r:4d} {i:8d} {d:7d}  {names[lab]}{mark}")
    print("(* = same class)")
    return 0
