#!/usr/bin/env bash
# In-domain quality on small sets, the way a user with one data set of a few hundred pictures meets it: each real-face
# pairing of the development corpus's tuning part trained alone, with the seed recipe at lr 1e-4 (the bar to meet),
# the default preset and the generalise preset:
#   bench/small-sets.sh DEVDATA_DIR WORK_DIR [SEED]
# DEVDATA_DIR is what bench/devdata/build.sh wrote. Each set is split once, stratified, three quarters to train (train
# holds a tenth of that out to pick its epoch) and a quarter to test; every recipe sees the same split. The exam's
# sources (bench/devdata/exam.txt) are never used. Runs resume; the table is printed from what has finished and
# appended to WORK_DIR/small-sets.tsv. Set VERACITY to a built binary to skip `dotnet run`.
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 DEVDATA_DIR WORK_DIR [SEED]" >&2; exit 2; fi
devdata="$(cd "$1" && pwd)"; work="$2"; seed="${3:-0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$work"; work="$(cd "$work" && pwd)"
v() { if [ -n "${VERACITY:-}" ]; then "$VERACITY" "$@"; else "$root/veracity" "$@"; fi; }

# The sets: name | the rows it takes (source, or source/file-name prefix from sources.tsv's row number) | most per class.
# StyleGAN faces against the FFHQ photographs they were trained to imitate, the Kaggle pairing of StyleGAN2 faces
# with Unsplash portraits, and LFW face swaps against LFW (a sample of each class: the whole is 12,000 pictures).
sets=(
  "ffhq-stylegan|ffhq stylegan2/9- stylegan2/12- stylegan2/13- stylegan2/14- stylegan3|1000"
  "unsplash-stylegan2|unsplash stylegan2/3- stylegan2/4-|1000"
  "lfw-faceswap|lfw lfw-faceswap|700"
)
recipes=(
  "seed-lr-1e-4|--preset seed --lr 1e-4"
  "default|--preset default"
  "generalise|--preset generalise"
)
for entry in "${sets[@]}"; do
  IFS='|' read -r name takes most <<< "$entry"
  dir="$work/$name"; mkdir -p "$dir"
  [ -s "$dir/test.csv" ] || /usr/bin/python3 - "$devdata/labels.csv" "$root/bench/devdata/exam.txt" "$dir" "$takes" "$most" "$seed" <<'PY'
import csv, random, sys
labels, exam_file, out, takes, most, seed = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(), int(sys.argv[5]), sys.argv[6]
exam = {line.strip() for line in open(exam_file) if line.strip() and not line.startswith("#")}
def taken(row):
    for take in takes:
        source, _, prefix = take.partition("/")
        if row["source"] == source and row["img_name"].split("/")[-1].startswith(prefix):
            return True
    return False
rows = [r for r in csv.DictReader(open(labels)) if taken(r)]
assert rows and not {r["source"] for r in rows} & exam, "a small set must not touch the exam"
train, test = [], []
for target in ("0", "1"):
    group = sorted((r for r in rows if r["target"] == target), key=lambda r: r["img_name"])
    random.Random(f"small-set-{seed}-{target}").shuffle(group)
    group = group[:most]
    cut = len(group) * 3 // 4
    train += group[:cut]; test += group[cut:]
for part, chosen in (("train", train), ("test", test)):
    with open(f"{out}/{part}.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["img_name", "target", "source"])
        w.writerows([r["img_name"], r["target"], r["source"]] for r in chosen)
PY
  for recipe in "${recipes[@]}"; do
    IFS='|' read -r recipe_name options <<< "$recipe"
    out="$dir/$recipe_name-seed-$seed"
    if [ ! -s "$out/eval/metrics.json" ]; then
      echo "== $name: train $options --seed $seed"
      start=$(date +%s)
      # shellcheck disable=SC2086
      [ -s "$out/run/best.ckpt" ] || v train $options --seed "$seed" --train-labels "$dir/train.csv" \
        --train-images "$devdata/images" --out "$out/run"
      echo $(( $(date +%s) - start )) > "$out/train-seconds"
      v evaluate --model "$out/run/best.ckpt" --labels "$dir/test.csv" --images "$devdata/images" --out "$out/eval" > /dev/null
    fi
  done
done

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs) model $(grep -m1 '^model' /proc/cpuinfo | cut -d: -f2 | xargs)"
/usr/bin/python3 - "$work" "$seed" "$cpu" "$(git -C "$root" rev-parse --short HEAD)" "${sets[@]}" <<'PY'
import csv, json, os, sys
work, seed, cpu, commit, sets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], [s.split("|")[0] for s in sys.argv[5:]]
recipes = ["seed-lr-1e-4", "default", "generalise"]
print(f"in-domain test AUC, seed {seed}, {cpu}, commit {commit}")
print(f"{'set':20s} {'train/test':>10s} " + " ".join(f"{r:>22s}" for r in recipes))
with open(os.path.join(work, "small-sets.tsv"), "a") as tsv:
    for name in sets:
        d = os.path.join(work, name)
        count = lambda part: sum(1 for _ in open(os.path.join(d, f"{part}.csv"))) - 1
        cells = []
        for r in recipes:
            run = os.path.join(d, f"{r}-seed-{seed}")
            try:
                auc = json.load(open(os.path.join(run, "eval", "metrics.json")))["metrics"]["auc"]
                minutes = int(open(os.path.join(run, "train-seconds")).read()) / 60
                cells.append(f"{auc:.3f} ({minutes:.1f} min)")
                tsv.write(f"{commit}\t{cpu}\t{name}\t{r}\t{seed}\t{count('train')}\t{count('test')}\t{auc:.4f}\t{minutes:.1f}\n")
            except FileNotFoundError:
                cells.append("not run")
        print(f"{name:20s} {count('train'):>4d}/{count('test'):<5d} " + " ".join(f"{c:>22s}" for c in cells))
PY
