"""``spikinghash demo``: the whole pipeline on dvs-digits, stage by stage, resumable.

Each stage runs one ``spikinghash`` subcommand in this process (through
:func:`spikinghash.cli.main.main`), exactly as a user would type it. A stage whose outputs
exist and are newer than its inputs is skipped, so a second ``spikinghash demo`` after an
interruption resumes at the first unfinished stage (training itself resumes from its
checkpoint). Stage times go to ``OUT/demo.json``; ``wall_seconds`` in report.json is their
sum: the pipeline's total time, also across resumed invocations.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from spikinghash.atomic_io import write_json
from spikinghash.errors import ConfigError, UserError

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "demo.yaml"
DEMO_JSON = "demo.json"


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline.

    Attributes:
        name: shown in the progress display and recorded in demo.json.
        argv: the ``spikinghash`` command line, ``{out}`` standing for the output folder.
        outputs: files in the output folder that the stage writes (none: always run).
        inputs: files whose being newer than an output makes the stage run again.
        done: an extra check that the outputs are complete (e.g. every epoch trained).
    """

    name: str
    argv: tuple[str, ...]
    outputs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    done: Callable[[Path], bool] | None = field(default=None, compare=False)

    def command_line(self, out: Path) -> list[str]:
        return [a.format(out=out) for a in self.argv]


def _trained(out: Path) -> bool:
    """Every epoch of the demo config trained (metrics.jsonl's last epoch = epochs)."""
    from spikinghash.train.run_dir import read_run_config

    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return bool(rows) and rows[-1].get("epoch") == read_run_config(out).epochs


def _lava_ran(samples: int) -> Callable[[Path], bool]:
    def check(out: Path) -> bool:
        lava = json.loads((out / "hw_sim.json").read_text()).get("lava") or {}
        return (lava.get("samples") or 0) >= samples
    return check


def demo_stages(config: Path = DEMO_CONFIG, lava_samples: int = 4) -> list[Stage]:
    """The pipeline: data, train, eval, export NIR and ONNX, fast and Lava simulation, energy (report last)."""
    ckpt = ("checkpoint.pt",)
    return [
        Stage("data", ("data", "generate", "dvs-digits")),
        Stage("train", ("train", "--config", str(config), "--out", "{out}"), ("checkpoint.pt", "metrics.jsonl"),
              (), _trained),
        Stage("eval", ("eval", "{out}"), ("eval.json", "codes.npz"), ckpt),
        Stage("export nir", ("export", "nir", "{out}"), ("model.nir",), ckpt),
        Stage("export onnx", ("export", "onnx", "{out}"), ("model.onnx",), ckpt),
        Stage("simulate fast", ("simulate", "{out}", "--backend", "fast", "--threads", "2"), ("hw_sim.json", "hw_sim_codes.npz"),
              ("model.nir",)),
        Stage("simulate lava", ("simulate", "{out}", "--backend", "lava", "--samples", str(lava_samples)),
              ("hw_sim.json",), ("hw_sim_codes.npz",), _lava_ran(lava_samples)),
        Stage("energy", ("energy", "{out}"), ("energy.json",), ("hw_sim.json",)),
    ]


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


def missing_commands(stages: Sequence[Stage]) -> list[str]:
    """The stages' subcommands (``simulate``, ``export nir``, ...) that this CLI does not have."""
    import argparse

    from spikinghash.cli.main import build_parser

    def choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    top = choices(build_parser())
    missing = []
    for stage in stages:
        cmd, sub = stage.argv[0], stage.argv[1]
        if cmd not in top:
            missing.append(cmd)
        elif choices(top[cmd]) and sub not in choices(top[cmd]):
            missing.append(f"{cmd} {sub}")
    return list(dict.fromkeys(missing))


def _check_config(out: Path, config: Path) -> None:
    """Refuse to resume a folder trained with other settings (the user changed demo.yaml or --out)."""
    from spikinghash.train.config import resolve_config
    from spikinghash.train.run_dir import read_run_config

    if not (out / "config.yaml").is_file():
        return
    mine, theirs = resolve_config(config, {}, []).to_dict(), read_run_config(out).to_dict()
    diff = sorted(k for k in mine if mine[k] != theirs.get(k))
    if diff:
        raise ConfigError(f"{out} was trained with other settings ({', '.join(diff)} differ from {config}); "
                          f"delete {out} or choose another --out")


def run_demo(out: Path, *, config: Path = DEMO_CONFIG, lava_samples: int = 4,
             runner: Callable[[list[str]], int] | None = None,
             report: Callable[[Path, float], Any] | None = None) -> dict[str, Any]:
    """Run every stage not yet current, then the report; returns report.json's content.

    ``runner`` runs one command line (default: :func:`spikinghash.cli.main.main`); ``report``
    writes the report given the pipeline time so far (default: :func:`build_report`). Both are
    parameters so that tests can watch the orchestration.
    """
    from spikinghash.report.build import REPORT_MD, build_report, set_wall_seconds

    if runner is None:
        from spikinghash.cli.main import main as runner  # type: ignore[assignment]
    stages = demo_stages(config, lava_samples)
    missing = missing_commands(stages)
    if missing:
        raise ConfigError(f"the demo needs `spikinghash {'`, `spikinghash '.join(missing)}`, which this "
                          "installation does not have yet; update spikinghash (see README, 'make demo')")
    _check_config(out, config)
    out.mkdir(parents=True, exist_ok=True)
    record_path = out / DEMO_JSON
    record = json.loads(record_path.read_text()) if record_path.is_file() else {"stages": {}}
    t0 = time.perf_counter()
    n = len(stages) + 1
    for i, stage in enumerate(stages, 1):
        head = f"[{i}/{n}] {stage.name:<13s}"
        if stage.name == "train" and (out / "checkpoint.pt").is_file() and not is_current(stage, out):
            stage = Stage(stage.name, (*stage.argv, "--resume"), stage.outputs, stage.inputs, stage.done)
        if is_current(stage, out):
            print(f"{head} skipped: {', '.join(stage.outputs)} already current "
                  f"(elapsed {time.perf_counter() - t0:.0f} s)", flush=True)
            record["stages"].setdefault(stage.name, {"seconds": 0.0})["status"] = "skipped"
            continue
        argv = stage.command_line(out)
        print(f"{head} spikinghash {' '.join(argv)}  (elapsed {time.perf_counter() - t0:.0f} s)", flush=True)
        t = time.perf_counter()
        rc = runner(argv)
        if rc:
            write_json(record_path, record)
            raise UserError(f"demo stage {i}/{n} ({stage.name}) failed with exit code {rc}; fix the problem "
                            "printed above and run the demo again: finished stages are kept")
        record["stages"][stage.name] = {"seconds": round(time.perf_counter() - t, 1), "status": "ran"}
        write_json(record_path, record)
    print(f"[{n}/{n}] {'report':<13s} (elapsed {time.perf_counter() - t0:.0f} s)", flush=True)
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
