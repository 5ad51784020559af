"""``spikinghash demo``: the whole pipeline on dvs-digits, stage by stage, resumable.

The demo trains a float model into ``OUT/source``, measures its post-training quantization
(PTQ) there, then fine-tunes it quantization-aware into ``OUT`` and deploys *that* model:
export, fast and Lava simulation, energy and the report all run on ``OUT``. The report keeps
the source's PTQ numbers beside the deployed ones (``*_ptq`` keys), so both are visible.

Each stage calls the pipeline function its ``spikinghash`` subcommand calls (the line shown is
that command). A stage whose outputs exist and are newer than its inputs is skipped, so a
second ``spikinghash demo`` after an interruption resumes at the first unfinished stage
(training and fine-tuning resume from their checkpoints). Stage times go to ``OUT/demo.json``;
``wall_seconds`` in report.json is their sum: the pipeline's total time, also across resumed
invocations.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from spikinghash.atomic_io import check_output_dir, write_json
from spikinghash.data.registry import generate_dataset
from spikinghash.errors import ConfigError, DataError, UserError
from spikinghash.pipeline.run_dir import (CHECKPOINT, CODES, CONFIG, DEMO_JSON, ENERGY_JSON, EVAL, HW_SIM_CODES,
                                          HW_SIM_JSON, METRICS, NIR_FILE, ONNX_FILE, QAT_FILE, REPORT_MD,
                                          load_run, read_run_config)
from spikinghash.report.sources import read_json

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "demo.yaml"
SOURCE = "source"  # OUT/source: the float-trained run the deployed model is fine-tuned from
QAT_EPOCHS = 4  # 4 epochs gave 100 % hash-bit agreement on the demo (README, "Quantization-aware fine-tuning")


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline.

    Attributes:
        name: shown in the progress display and recorded in demo.json.
        command: the ``spikinghash`` command line it stands for (``{out}``: the demo folder).
        action: runs the stage on the demo folder.
        outputs: files (relative to the demo folder) the stage writes (none: always run).
        inputs: files whose being newer than an output makes the stage run again.
        done: an extra check that the outputs are complete (e.g. every epoch trained).
    """

    name: str
    command: str
    action: Callable[[Path], Any] = field(compare=False)
    outputs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    done: Callable[[Path], bool] | None = field(default=None, compare=False)


def _epochs_done(run: Path, epochs: int) -> bool:
    """``metrics.jsonl``'s last epoch is ``epochs``."""
    rows = [json.loads(x) for x in (run / METRICS).read_text().splitlines() if x.strip()]
    return bool(rows) and rows[-1].get("epoch") == epochs


def _lava_ran(samples: int) -> Callable[[Path], bool]:
    def check(out: Path) -> bool:
        lava = json.loads((out / HW_SIM_JSON).read_text()).get("lava") or {}
        return (lava.get("samples") or 0) >= samples
    return check


def default_actions(config: Path, lava_samples: int, qat_epochs: int) -> dict[str, Callable[[Path], Any]]:
    """The real stage functions, by stage name (each takes the demo folder)."""
    from spikinghash.pipeline.evaluate import evaluate_run
    from spikinghash.pipeline.export import export_run_nir, export_run_onnx
    from spikinghash.pipeline.qat import run_qat
    from spikinghash.pipeline.commands import energy_target, simulate_target
    from spikinghash.pipeline.train import train_config, train_run

    def train(out: Path) -> None:
        src = out / SOURCE
        resume = (src / CHECKPOINT).is_file()
        train_run(train_config(src, config, {}, [], resume), src, resume=resume)

    def qat(out: Path) -> None:
        run_qat(out / SOURCE, out, epochs=qat_epochs, resume=(out / CHECKPOINT).is_file())

    return {
        "data": lambda out: generate_dataset("dvs-digits"),
        "train": train,
        "eval source": lambda out: evaluate_run(out / SOURCE),
        "simulate source": lambda out: simulate_target(out / SOURCE, "fast", threads=2),
        "qat": qat,
        "eval": lambda out: evaluate_run(out),
        "export nir": lambda out: export_run_nir(load_run(out)),
        "export onnx": lambda out: export_run_onnx(load_run(out)),
        "simulate fast": lambda out: simulate_target(out, "fast", threads=2),
        "simulate lava": lambda out: simulate_target(out, "lava", samples=lava_samples),
        "energy": lambda out: energy_target(out),
    }


def demo_stages(config: Path = DEMO_CONFIG, lava_samples: int = 4, qat_epochs: int = QAT_EPOCHS,
                actions: Mapping[str, Callable[[Path], Any]] | None = None) -> list[Stage]:
    """The pipeline (report last, apart): data, train, eval and PTQ simulation of the source, QAT, then eval,
    export, fast and Lava simulation and energy of the deployed model. ``actions``: stand-ins by stage name."""
    act = dict(default_actions(config, lava_samples, qat_epochs) if actions is None else actions)
    epochs = read_config_epochs(config)
    src = f"{SOURCE}/"
    ckpt = (CHECKPOINT,)
    return [
        Stage("data", "data generate dvs-digits", act["data"]),
        Stage("train", f"train --config {config} --out {{out}}/{SOURCE}", act["train"],
              (src + CHECKPOINT, src + METRICS), (), lambda out: _epochs_done(out / SOURCE, epochs)),
        Stage("eval source", f"eval {{out}}/{SOURCE}", act["eval source"], (src + EVAL, src + CODES),
              (src + CHECKPOINT,)),
        Stage("simulate source", f"simulate {{out}}/{SOURCE} --backend fast --threads 2", act["simulate source"],
              (src + HW_SIM_JSON, src + HW_SIM_CODES), (src + CHECKPOINT,)),
        Stage("qat", f"qat {{out}}/{SOURCE} --out {{out}} --epochs {qat_epochs}", act["qat"],
              (QAT_FILE, CHECKPOINT, METRICS), (src + CHECKPOINT,), lambda out: _epochs_done(out, qat_epochs)),
        Stage("eval", "eval {out}", act["eval"], (EVAL, CODES), ckpt),
        Stage("export nir", "export nir {out}", act["export nir"], (NIR_FILE,), ckpt),
        Stage("export onnx", "export onnx {out}", act["export onnx"], (ONNX_FILE,), ckpt),
        Stage("simulate fast", "simulate {out} --backend fast --threads 2", act["simulate fast"],
              (HW_SIM_JSON, HW_SIM_CODES), (NIR_FILE,)),
        Stage("simulate lava", f"simulate {{out}} --backend lava --samples {lava_samples}", act["simulate lava"],
              (HW_SIM_JSON,), (HW_SIM_CODES,), _lava_ran(lava_samples)),
        Stage("energy", "energy {out}", act["energy"], (ENERGY_JSON,), (HW_SIM_JSON,)),
    ]


def read_config_epochs(config: Path) -> int:
    """The epochs the demo config trains."""
    from spikinghash.train.config import resolve_config

    return int(resolve_config(config, {}, []).epochs)


def is_current(stage: Stage, out: Path) -> bool:
    """Outputs all present, not older than any input, and complete by the stage's own check."""
    if not stage.outputs:
        return False
    paths = [out / f for f in stage.outputs]
    if not all(p.is_file() for p in paths):
        return False
    newest_input = max(((out / f).stat().st_mtime for f in stage.inputs if (out / f).is_file()), default=0.0)
    if min(p.stat().st_mtime for p in paths) < newest_input:
        return False
    return stage.done(out) if stage.done is not None else True


def _check_config(out: Path, config: Path) -> None:
    """Refuse to resume a folder trained with other settings (the user changed demo.yaml or --out)."""
    from spikinghash.train.config import resolve_config

    src = out / SOURCE
    if not (src / CONFIG).is_file():
        return
    mine, theirs = resolve_config(config, {}, []).to_dict(), read_run_config(src).to_dict()
    diff = sorted(k for k in mine if mine[k] != theirs.get(k))
    if diff:
        raise ConfigError(f"{src} was trained with other settings ({', '.join(diff)} differ from {config}); "
                          f"delete {out} or choose another --out")


def run_demo(out: Path, *, config: Path = DEMO_CONFIG, lava_samples: int = 4, qat_epochs: int = QAT_EPOCHS,
             actions: Mapping[str, Callable[[Path], Any]] | None = None,
             report: Callable[[Path, float], Any] | None = None) -> dict[str, Any]:
    """Run every stage not yet current, then the report; returns report.json's content.

    ``actions`` (stand-ins for the stage functions, by name) and ``report`` (writes the report given the
    pipeline time so far; default :func:`pipeline.report.build_report`) are parameters so that tests can
    watch the orchestration.
    """
    from spikinghash.pipeline.report import build_report, set_wall_seconds

    check_output_dir(out, "--out")
    stages = demo_stages(config, lava_samples, qat_epochs, actions)
    _check_config(out, config)
    record_path = out / DEMO_JSON
    record = read_json(record_path) if record_path.is_file() else {"stages": {}}
    if not isinstance(record.get("stages"), dict):
        raise DataError(f"{record_path} holds no stage record; delete it (the demo then times every stage anew)")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n = len(stages) + 1
    for i, stage in enumerate(stages, 1):
        head = f"[{i}/{n}] {stage.name:<15s}"
        if is_current(stage, out):
            print(f"{head} skipped: {', '.join(stage.outputs)} already current "
                  f"(elapsed {time.perf_counter() - t0:.0f} s)", flush=True)
            record["stages"].setdefault(stage.name, {"seconds": 0.0})["status"] = "skipped"
            continue
        print(f"{head} spikinghash {stage.command.format(out=out)}  (elapsed {time.perf_counter() - t0:.0f} s)",
              flush=True)
        t = time.perf_counter()
        try:
            stage.action(out)
        except UserError as err:
            write_json(record_path, record)
            raise UserError(f"demo stage {i}/{n} ({stage.name}) failed: {err}; fix it and run the demo again: "
                            "finished stages are kept") from None
        record["stages"][stage.name] = {"seconds": round(time.perf_counter() - t, 1), "status": "ran"}
        write_json(record_path, record)
    print(f"[{n}/{n}] {'report':<15s} (elapsed {time.perf_counter() - t0:.0f} s)", flush=True)
    t = time.perf_counter()
    before = sum(s["seconds"] for s in record["stages"].values())
    (report or (lambda o, w: build_report(o, wall_seconds=w)))(out, before)
    record["stages"]["report"] = {"seconds": round(time.perf_counter() - t, 1), "status": "ran"}
    record["wall_seconds"] = round(sum(s["seconds"] for s in record["stages"].values()), 1)
    record["this_invocation_seconds"] = round(time.perf_counter() - t0, 1)
    write_json(record_path, record)
    result = set_wall_seconds(out, record["wall_seconds"])
    print(f"demo done in {record['this_invocation_seconds']:.0f} s (pipeline total {record['wall_seconds']:.0f} s); "
          f"report: {out / REPORT_MD}")
    return result
