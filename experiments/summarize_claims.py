"""The paper-claim results (Table XI, Table XII, hash-layer BN) as one Markdown page.

Reads experiments/results/{table11_temporal_pairs,table12_swm_vs_ssa,hash_bn,hash_bn_3ep}.json (whichever
exist) and writes experiments/results/paper_claims.md.
Usage: python experiments/summarize_claims.py
"""

from __future__ import annotations

import json
from typing import Any

import claims_common as C

from spikinghash.atomic_io import atomic_open


def _load(name: str) -> dict[str, Any] | None:
    path = C.RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _setting(r: dict[str, Any]) -> str:
    return (f"`{r.get('model', 'spikinghash_ti')}` with {r['model_options']}, {r['bits']} bits, T = {r['T']}, "
            f"{r['epochs']} epochs, batch {r['batch_size']}, {r['optimizer']} lr {r['lr']}, task=classify, "
            f"seeds {r['seeds']}; {r['wall_s'] / 60:.1f} min in all")


def table11(r: dict[str, Any]) -> list[str]:
    lines = ["## Table XI: 3D-SWM vs 2D-SWM, classification accuracy per temporal-order pair", "",
             f"{r['metric']}; {r['data']}; {_setting(r)}; {r['train_per_class']} train samples per class.", "",
             "| pair | query samples | 3D-SWM (%) | 2D-SWM (%) | 3D − 2D (points) |", "|---|---:|---:|---:|---:|"]
    for name, row in r["pairs"].items():
        d3, d2 = row["3D-SWM"]["accuracy"], row["2D-SWM"]["accuracy"]
        lines.append(f"| {name} | {row['query_samples']} | {C.fmt(d3)} | {C.fmt(d2)} | "
                     f"{(d3['mean'] - d2['mean']) * 100:+.1f} |")
    return lines


def table12(r: dict[str, Any]) -> list[str]:
    lines = ["## Table XII: SWM vs all-SSA, classification accuracy", "", f"{r['metric']}; {r['data']}; {_setting(r)}.",
             "", "| variant | model | queries | top-1 (%) | top-5 (%) | train accuracy, last epoch (%) |",
             "|---|---|---:|---:|---:|---:|"]
    for name, row in r["variants"].items():
        lines.append(f"| {name} | `{row['model']}` | {row['queries']} | {C.fmt(row['accuracy_top1'])} | "
                     f"{C.fmt(row['accuracy_top5'])} | {C.fmt(row['train_accuracy_last_epoch'])} |")
    return lines


def _stage_row(label: str, stage: dict[str, Any]) -> str:
    return (f"| {label} | {C.fmt(stage['ones'])} | {C.fmt(stage['distinct'], 1)} of {int(stage['samples']['mean'])} | "
            f"{C.fmt(stage['grad_path'])} | {C.fmt(stage['rate'])} |")


def hash_bn(r: dict[str, Any], with_init: bool = True) -> list[str]:
    header = ["| | bits = 1 (%) | distinct codes | (sample, bit) pairs with a gradient through the AND (%) | "
              "hash-neuron spike rate (%) |", "|---|---:|---:|---:|---:|"]
    s, d, n = r["spikinghash_s_init_digits"], r["dvs_digits_small_ti"], r.get("epochs", 1)
    e = f"epoch{n}"
    stages = ((f"{e}_train_mode_query", f"{n} epoch(s), train mode, query split"),
              (f"{e}_eval_mode_query", f"{n} epoch(s), eval mode, query split"))
    if with_init:
        lines = ["## Hash-layer BatchNorm (README claim: without it every code starts all-zero)", "",
                 f"Seeds {r['seeds']}, mean ± std. 1) {s['setting']}, at initialisation:", "", *header,
                 _stage_row("with BN", s["bn"]), _stage_row("without BN (Eq. 18)", s["no_bn"]), ""]
        stages = (("init_train_mode", "init, train mode, 32 train samples"),
                  ("init_eval_mode_query", "init, eval mode, query split")) + stages
    else:
        lines = [f"### The same after {n} epochs", ""]
    lines += [f"{'2) ' if with_init else ''}{d['setting']}:", "", *header]
    for key, label in (("bn", "with BN"), ("no_bn", "without BN")):
        lines += [_stage_row(f"{label}: {when}", d[key][stage]) for stage, when in stages]
    lines += ["", f"| after {n} epoch(s) | mAP@all (%) | accuracy top-1 (%) | train loss, last epoch |",
              "|---|---:|---:|---:|"]
    for key, label in (("bn", "with BN"), ("no_bn", "without BN")):
        v = d[key]
        lines.append(f"| {label} | {C.fmt(v[f'{e}_map_all'])} | {C.fmt(v[f'{e}_accuracy_top1'])} | "
                     f"{v[f'{e}_train_loss']['mean']:.3f} ± {v[f'{e}_train_loss']['std']:.3f} |")
    return lines


def main() -> None:
    parts = [["# Paper claims measured on dvs-digits", "",
              "Scripts in `experiments/`; one thread per run, seeds one after the other, on this project's shared "
              "2-core CPU. Accuracy is classification accuracy on the query split (not retrieval mAP)."]]
    renderers = (("table11_temporal_pairs", table11), ("table12_swm_vs_ssa", table12), ("hash_bn", hash_bn),
                 ("hash_bn_3ep", lambda r: hash_bn(r, with_init=False)))
    for name, render in renderers:
        result = _load(name)
        if result is not None:
            parts.append(render(result))
    with atomic_open(C.RESULTS / "paper_claims.md") as fh:
        fh.write("\n\n".join("\n".join(p) for p in parts) + "\n")
    print((C.RESULTS / "paper_claims.md").read_text())


if __name__ == "__main__":
    main()
