#!/usr/bin/env bash
# CPU experiments on the built-in dvs-digits (README "Results"): spikinghash_ti at 16/32/64 bits,
# the neuromorphic profile spikinghash_ti_nir beside it (and deployed: fast simulator on the whole
# splits, Lava on a few samples, energy), soft vs hard similarity, 3D vs 2D SWM, all-SSA, and
# TransHash, all on the same splits and schedule (T=4, 6 epochs, batch 32, seed 0).
# Each run is resumable: rerunning skips finished runs.
# Usage: bash experiments/dvs_digits_cpu.sh [RUNS_DIR]   (about 1.5 hours on a 2-core CPU)
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # one thread per process: faster than two on a shared 2-core machine
cd "$(dirname "$0")/.."
runs=${1:-runs/dvs_digits_cpu}
common=(--data dvs-digits T=4 epochs=6 eval_every=6 seed=0)
train() {  # name model bits [overrides...]
  local name=$1 model=$2 bits=$3; shift 3
  if [ -f "$runs/$name/eval.json" ]; then echo "skip $name (done)"; return; fi
  if [ -f "$runs/$name/checkpoint.pt" ]; then
    .venv/bin/spikinghash train --out "$runs/$name" --resume --quiet
  else
    .venv/bin/spikinghash train --model "$model" --bits "$bits" --out "$runs/$name" --quiet "${common[@]}" "$@"
  fi
  .venv/bin/spikinghash eval "$runs/$name"
}
deploy() {  # name: integer simulation of a neuromorphic-profile run, then energy and report
  local run=$runs/$1
  [ -f "$run/hw_sim.json" ] || .venv/bin/spikinghash simulate "$run" --backend fast --threads 1 --quiet
  grep -q '"lava"' "$run/hw_sim.json" || .venv/bin/spikinghash simulate "$run" --backend lava --samples 2
  [ -f "$run/energy.json" ] || .venv/bin/spikinghash energy "$run" --quiet
  .venv/bin/spikinghash report "$run"
}
train ti_32 spikinghash_ti 32
train ti_nir_32 spikinghash_ti_nir 32
deploy ti_nir_32
train ti_64 spikinghash_ti 64
train ti_16 spikinghash_ti 16
train ti_64_hard spikinghash_ti 64 loss.soft_similarity=false
train ti_2dswm_64 spikinghash_ti_2dswm 64
train ti_allssa_64 spikinghash_ti_allssa 64
train transhash_64 transhash 64
.venv/bin/python experiments/summarize.py "$runs"
