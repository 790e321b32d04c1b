#!/usr/bin/env bash
# Side-by-side benchmark: Veracity against the reference baseline in PyTorch (Debian python3-torch 1.13.1),
# same data, same ResNet layout, same starting weights, same recipe (the seed preset), 2 threads each.
# Every phase runs as its own process and is timed whole (start-up included) with /usr/bin/time.
#   bench/run.sh [--quick] [WORKDIR]
# --quick: 200 training images for 1 epoch, 100 validation, 200 to predict (a few minutes).
# Full: the reference workload: --limit 1000, 2 epochs, 1000 validation, 5000 to predict (about an hour).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi
work="${1:-$root/runs/bench}"
mkdir -p "$work"

if ! /usr/bin/python3 -c "import torch, torchvision, PIL" 2>/dev/null; then
  echo "Installing the peer: Debian python3-torch, python3-torchvision, python3-pil"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-torchvision python3-pil
fi
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }

if [ $quick = 1 ]; then train=200; val=100; test=200; epochs=1; else train=1000; val=1000; test=5000; epochs=2; fi
size=256
dotnet build "$root/Veracity.slnx" -c Release -v quiet -nologo >/dev/null
veracity=(dotnet "$root/src/Veracity.Cli/bin/Release/net10.0/linux-x64/Veracity.Cli.dll")

data="$work/data"
if [ ! -f "$data/valset_label.txt" ]; then
  total=$(( train + val ))
  "${veracity[@]}" synth --out "$data" --count "$total" --size 512 --seed 1 --val-fraction "$(python3 -c "print($val/$total)")" >/dev/null
  "${veracity[@]}" synth --out "$work/test" --count "$test" --size 512 --seed 2 --val-fraction 0 >/dev/null
fi
dotnet run --project "$root/bench/Veracity.Bench" -c Release --no-build -- torch-weights --out "$work/peer-weights" >/dev/null

# timed NAME COMMAND...: runs the command under /usr/bin/time, keeps its output in $work/NAME.log
timed() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" > "$work/$name.log" 2>&1
}

common=(--train-labels "$data/trainset_label.txt" --train-images "$data/trainset" --val-labels "$data/valset_label.txt" --val-images "$data/valset")
rm -rf "$work/veracity-run"
timed veracity-train "${veracity[@]}" train --preset seed --epochs "$epochs" --limit "$train" --image-size $size --workers 2 --out "$work/veracity-run" "${common[@]}"
timed peer-train env OMP_NUM_THREADS=2 /usr/bin/python3 "$root/bench/reference_baseline.py" --phase train --epochs "$epochs" --limit "$train" \
  --image-size $size --threads 2 --workers 2 --weights "$work/peer-weights" --model-out "$work/peer.pt" "${common[@]}"
timed veracity-evaluate "${veracity[@]}" evaluate --model "$work/veracity-run/best.ckpt" --labels "$data/valset_label.txt" --images "$data/valset" --out "$work/veracity-eval"
timed peer-evaluate /usr/bin/python3 "$root/bench/reference_baseline.py" --phase predict --model "$work/peer.pt" --labels "$data/valset_label.txt" \
  --images "$data/valset" --threads 2 --workers 2 --out "$work/peer-val.csv"
for tta in 1 4; do
  timed "veracity-predict-tta$tta" "${veracity[@]}" predict --model "$work/veracity-run/best.ckpt" --images "$work/test/trainset" --tta $tta --out "$work/veracity-submit-$tta.csv"
  timed "peer-predict-tta$tta" /usr/bin/python3 "$root/bench/reference_baseline.py" --phase predict --model "$work/peer.pt" --images "$work/test/trainset" \
    --tta $tta --threads 2 --workers 2 --out "$work/peer-submit-$tta.csv"
done

/usr/bin/python3 - "$work" $train $epochs $val $test <<'PY'
import json, sys
work, train, epochs, val, test = sys.argv[1], *map(int, sys.argv[2:])
def run(name):
    wall, rss = open(f"{work}/{name}.time").read().split()[-2:]
    return float(wall), int(rss) / 1024
phases = [("train", train * epochs), ("evaluate", val), ("predict-tta1", test), ("predict-tta4", test * 4)]
print(f"{'phase':<14}{'Veracity img/s':>16}{'PyTorch img/s':>15}{'ratio':>8}{'Veracity s':>12}{'PyTorch s':>11}{'Veracity MiB':>14}{'PyTorch MiB':>13}")
for phase, images in phases:
    (vw, vr), (pw, pr) = run(f"veracity-{phase}"), run(f"peer-{phase}")
    print(f"{phase:<14}{images / vw:>16.2f}{images / pw:>15.2f}{pw / vw:>8.2f}{vw:>12.1f}{pw:>11.1f}{vr:>14.0f}{pr:>13.0f}")
auc_v = [json.loads(l).get("ValAuc") for l in open(f"{work}/veracity-run/metrics.jsonl")]
auc_p = json.loads(open(f"{work}/peer-train.log").read().strip().splitlines()[-1])["val_auc"]
print(f"validation AUC per epoch: Veracity {auc_v}, PyTorch {auc_p}")
print("img/s = images processed / whole-process wall seconds (start-up included); ratio = PyTorch wall / Veracity wall")
PY
