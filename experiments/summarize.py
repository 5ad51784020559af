"""Collect eval.json of every run in a folder into one JSON and a Markdown table.

Besides the overall metrics it reports, for each temporal-order class pair of the
dataset, how often a query of one class of the pair has its nearest neighbour in the
*other* class of the pair (lower is better: the pair is told apart).
Usage: python experiments/summarize.py RUNS_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from spikinghash.atomic_io import atomic_open, write_json
from spikinghash.retrieval.codes import load_codes
from spikinghash.retrieval.ranking import hamming_distances, rank_order


def pair_confusion(run: Path, pairs: list[list[int]]) -> float:
    """Share of temporal-pair queries whose top-1 neighbour is the partner class."""
    codes = load_codes(run / "codes.npz")
    partner = {a: b for a, b in pairs} | {b: a for a, b in pairs}
    rows = np.flatnonzero(np.isin(codes.query_labels, list(partner)))
    if len(rows) == 0:
        return float("nan")
    top1 = rank_order(hamming_distances(codes.query_codes[rows], codes.db_codes), 1)[:, 0]
    wrong = [codes.db_labels[t] == partner[int(q)] for q, t in zip(codes.query_labels[rows], top1)]
    return float(np.mean(wrong))


def main(runs: Path) -> None:
    table = {}
    for ev in sorted(runs.glob("*/eval.json")):
        e = json.loads(ev.read_text())
        metrics = [json.loads(x) for x in (ev.parent / "metrics.jsonl").read_text().splitlines() if x]
        table[ev.parent.name] = {
            "model": e["model"], "bits": e["bits"], "epochs": e["epoch"], "map_all": round(e["map"], 4),
            "precision_at_100": round(e["precision"], 4), "ndcg_at_100": round(e["ndcg"], 4),
            "temporal_pair_confusion": round(pair_confusion(ev.parent, e["similar_classes"]), 4),
            "train_minutes": round(sum(m["wall_s"] for m in metrics) / 60, 1),
        }
    write_json(runs / "summary.json", table)
    with atomic_open(runs / "summary.md") as fh:
        fh.write("| run | model | bits | mAP@all | P@100 | NDCG@100 | temporal-pair confusion | train min |\n")
        fh.write("|---|---|---:|---:|---:|---:|---:|---:|\n")
        for name, r in table.items():
            fh.write(f"| {name} | {r['model']} | {r['bits']} | {r['map_all']:.4f} | {r['precision_at_100']:.4f} | "
                     f"{r['ndcg_at_100']:.4f} | {r['temporal_pair_confusion']:.3f} | {r['train_minutes']} |\n")
    print((runs / "summary.md").read_text())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
