#!/usr/bin/env bash
# Seed preset (the reference) against the default preset on forgeries neither saw in training.
# Trains on splice/resample/colour fakes, tests on checkerboard/double-jpeg fakes (plus unseen reals).
# Usage: bench/compare-presets.sh [WORKDIR]   (about 15 minutes on 2 cores)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$root/runs/compare-presets}"
v() { "$root/veracity" "$@"; }

v synth --out "$work/seen" --count 1200 --size 256 --seed 1 --val-fraction 0.1667 --manipulations splice,resample,colour
v synth --out "$work/unseen" --count 400 --size 256 --seed 2 --val-fraction 0.5 --manipulations checkerboard,double-jpeg

for preset in seed default; do
  v train --preset "$preset" --limit 1000 --out "$work/$preset" \
    --train-labels "$work/seen/trainset_label.txt" --train-images "$work/seen/trainset" \
    --val-labels "$work/seen/valset_label.txt" --val-images "$work/seen/valset"
  v evaluate --model "$work/$preset/best.ckpt" --labels "$work/unseen/trainset_label.txt" --images "$work/unseen/trainset" \
    --by-source --out "$work/$preset/unseen"
done
for preset in seed default; do
  printf '%-8s held-out AUC: ' "$preset"
  grep -m1 '"auc"' "$work/$preset/unseen/metrics.json"
done
