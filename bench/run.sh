#!/usr/bin/env bash
# Side-by-side benchmark: Veracity against the reference baseline in PyTorch (Debian python3-torch 1.13.1),
# same data, same ResNet layout, same starting weights, same recipe (the seed preset), 2 threads each. The peer runs
# twice: the seed's way (float32, NCHW) and at its best (reference_baseline.py --best: channels-last, with bfloat16
# autocast where the CPU has AVX512-BF16 or AMX); the report gives Veracity's ratio to each, the best peer first.
# Every phase runs as its own process and is timed whole (start-up included) with /usr/bin/time; the two sides
# alternate phase by phase, and --repeat N runs everything N times (the order flips every repetition).
#   bench/run.sh [--quick] [--repeat N] [--source-size PX] [--prepare] [WORKDIR]
# --quick: 200 training images for 1 epoch, 100 validation, 200 to predict (a few minutes per repetition).
# Full: the reference workload: --limit 1000, 2 epochs, 1000 validation, 5000 to predict with TTA 1; TTA 4 runs
#   on the first 1000 of those (about 25 minutes per repetition).
# --source-size: side of the synthetic JPEGs (default 512; 1024 for camera-sized inputs).
# --prepare: also time `veracity prepare` and Veracity's training on the pre-scaled copy.
# Memory over long predictions: a small 64-px checkpoint scores 10,000 and 50,000 images (links to the test
# images; 1,000 and 5,000 with --quick) and each run's peak RSS is reported.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quick=0 repeat=1 source=512 prepare=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --repeat) repeat=$2; shift 2 ;;
    --source-size) source=$2; shift 2 ;;
    --prepare) prepare=1; shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
work="${1:-$root/runs/bench-$source}"
mkdir -p "$work"

# The CPU first: every figure below depends on it.
{
  grep -m1 '^vendor_id' /proc/cpuinfo; grep -m1 '^cpu family' /proc/cpuinfo; grep -m1 '^model[[:space:]]*:' /proc/cpuinfo
  grep -m1 '^model name' /proc/cpuinfo; echo "logical cores	: $(nproc)"
  echo "ISA flags	: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_vnni|avx_vnni|avx512_bf16|amx_bf16|amx_int8|amx_tile)$' | tr '\n' ' ')"
} | tee "$work/cpu.txt"

if ! /usr/bin/python3 -c "import torch, torchvision, PIL" 2>/dev/null; then
  echo "Installing the peer: Debian python3-torch, python3-torchvision, python3-pil"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-torchvision python3-pil
fi
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }

if [ $quick = 1 ]; then train=200; val=100; test=200; tta4=200; epochs=1; rss_counts="1000 5000"
else train=1000; val=1000; test=5000; tta4=1000; epochs=2; rss_counts="10000 50000"; fi
size=256
dotnet build "$root/Veracity.slnx" -c Release -v quiet -nologo >/dev/null
veracity=(dotnet "$root/src/Veracity.Cli/bin/Release/net10.0/linux-x64/Veracity.Cli.dll")
bench=(dotnet "$root/bench/Veracity.Bench/bin/Release/net10.0/linux-x64/Veracity.Bench.dll")
peer=(env OMP_NUM_THREADS=2 /usr/bin/python3 "$root/bench/reference_baseline.py" --threads 2 --workers 2)

data="$work/data"
if [ ! -f "$work/test/tta4_list.txt" ]; then
  total=$(( train + val ))
  "${veracity[@]}" synth --out "$data" --count "$total" --size "$source" --seed 1 --val-fraction "$(python3 -c "print($val/$total)")" >/dev/null
  "${veracity[@]}" synth --out "$work/test" --count "$test" --size "$source" --seed 2 --val-fraction 0 >/dev/null
  head -n $(( tta4 + 1 )) "$work/test/trainset_label.txt" > "$work/test/tta4_list.txt"
fi
"${bench[@]}" torch-weights --out "$work/peer-weights" >/dev/null

# Figures without a peer: the model alone on random batches, and the data pipeline alone (no model).
"${bench[@]}" model --sizes 224,256 --batch 40 --seconds 20 | tee "$work/model-only.txt"
# The model alone against the peer, each at its best on this CPU (Veracity's --precision auto is bfloat16 where the
# CPU has AVX512-BF16 or AMX, as training's own auto is), at the training size and batch: the training target's figure
# without data loading or start-up.
"${bench[@]}" model --precision auto --sizes $size --batch 40 --seconds 20 | tee "$work/model-auto.txt"
"${peer[@]}" --phase model --weights "$work/peer-weights" --image-size $size --seconds 20 | tee "$work/peer-model.json"
"${peer[@]}" --phase model --best --weights "$work/peer-weights" --image-size $size --seconds 20 | tee "$work/peer-best-model.json"
"${bench[@]}" pipeline --labels "$data/trainset_label.txt" --images "$data/trainset" --sizes 224,256 --limit "$train" | tee "$work/pipeline-only.txt"

# timed NAME COMMAND...: runs the command under /usr/bin/time, keeps its output in $work/NAME.log
timed() {
  local name=$1; shift
  echo "  $name" >&2
  /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" > "$work/$name.log" 2>&1
}

common=(--train-labels "$data/trainset_label.txt" --train-images "$data/trainset" --val-labels "$data/valset_label.txt" --val-images "$data/valset")
veracity_phase() { # PHASE REP
  local run="$work/veracity-run-$2"
  case $1 in
    train) rm -rf "$run"; timed "veracity-train.$2" "${veracity[@]}" train --preset seed --epochs "$epochs" --limit "$train" \
      --image-size $size --workers 2 --out "$run" "${common[@]}" ;;
    evaluate) timed "veracity-evaluate.$2" "${veracity[@]}" evaluate --model "$run/best.ckpt" --labels "$data/valset_label.txt" \
      --images "$data/valset" --out "$work/veracity-eval-$2" ;;
    predict-tta1) timed "veracity-predict-tta1.$2" "${veracity[@]}" predict --model "$run/best.ckpt" --images "$work/test/trainset" \
      --tta 1 --out "$work/veracity-submit-tta1-$2.csv" ;;
    predict-tta4) timed "veracity-predict-tta4.$2" "${veracity[@]}" predict --model "$run/best.ckpt" --images "$work/test/trainset" \
      --list "$work/test/tta4_list.txt" --tta 4 --out "$work/veracity-submit-tta4-$2.csv" ;;
  esac
}
peer_phase() { # PHASE REP NAME [OPTION...]: NAME peer (the seed's way) or peer-best (--best)
  local phase=$1 rep=$2 name=$3; shift 3
  case $phase in
    train) timed "$name-train.$rep" "${peer[@]}" "$@" --phase train --epochs "$epochs" --limit "$train" --image-size $size \
      --weights "$work/peer-weights" --model-out "$work/$name-$rep.pt" "${common[@]}" ;;
    evaluate) timed "$name-evaluate.$rep" "${peer[@]}" "$@" --phase predict --model "$work/$name-$rep.pt" --labels "$data/valset_label.txt" \
      --images "$data/valset" --out "$work/$name-val-$rep.csv" ;;
    predict-tta1) timed "$name-predict-tta1.$rep" "${peer[@]}" "$@" --phase predict --model "$work/$name-$rep.pt" --images "$work/test/trainset" \
      --tta 1 --out "$work/$name-submit-tta1-$rep.csv" ;;
    predict-tta4) timed "$name-predict-tta4.$rep" "${peer[@]}" "$@" --phase predict --model "$work/$name-$rep.pt" --images "$work/test/trainset" \
      --labels "$work/test/tta4_list.txt" --tta 4 --out "$work/$name-submit-tta4-$rep.csv" ;;
  esac
}
peers() { peer_phase "$1" "$2" peer; peer_phase "$1" "$2" peer-best --best; }

for rep in $(seq 1 "$repeat"); do
  echo "repetition $rep of $repeat" >&2
  for phase in train evaluate predict-tta1 predict-tta4; do
    if [ $(( rep % 2 )) = 1 ]; then veracity_phase $phase $rep; peers $phase $rep
    else peers $phase $rep; veracity_phase $phase $rep; fi
  done
  if [ $prepare = 1 ]; then
    rm -rf "$work/prepared" "$work/veracity-prepared-run"
    timed "veracity-prepare.$rep" "${veracity[@]}" prepare --labels "$data/trainset_label.txt" --images "$data/trainset" --size $size \
      --out "$work/prepared"
    timed "veracity-train-prepared.$rep" "${veracity[@]}" train --preset seed --epochs "$epochs" --limit "$train" --image-size $size \
      --workers 2 --out "$work/veracity-prepared-run" --train-labels "$work/prepared/trainset_label.txt" --train-images "$work/prepared/trainset" \
      --val-labels "$data/valset_label.txt" --val-images "$data/valset"
  fi
done

# Flat memory over long predictions: the same 64-px checkpoint over N links to the test images, for each N.
rm -rf "$work/rss-model"
"${veracity[@]}" train --preset seed --epochs 1 --limit 80 --image-size 64 --out "$work/rss-model" "${common[@]}" >/dev/null
for n in $rss_counts; do
  rm -rf "$work/rss-$n" && mkdir -p "$work/rss-$n"
  /usr/bin/python3 -c "import os, sys; src = sorted(os.listdir(sys.argv[1])); [os.symlink(os.path.join(sys.argv[1], src[i % len(src)]), os.path.join(sys.argv[2], f'{i:06d}.jpg')) for i in range(int(sys.argv[3]))]" \
    "$work/test/trainset" "$work/rss-$n" "$n"
  timed "veracity-predict-rss-$n.1" "${veracity[@]}" predict --model "$work/rss-model/best.ckpt" --images "$work/rss-$n" --out "$work/rss-$n.csv"
  rm -rf "$work/rss-$n"
done

/usr/bin/python3 "$root/bench/report.py" "$work" --repeat "$repeat" --train $train --epochs $epochs --val $val --test $test \
  --tta4 $tta4 --size $size --source-size "$source" --prepare $prepare --rss-counts ${rss_counts// /,} | tee "$work/report.md"
