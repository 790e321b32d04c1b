#!/usr/bin/env bash
# Adaptation curves: how many examples of a new kind of forgery `veracity adapt` needs, and what the old kinds pay.
#   bench/adapt-curves.sh CROSSVAL_DIR IMAGES WORK [SEED [ADAPT OPTION...]]
# CROSSVAL_DIR is a finished `crossval --faces` run (each fold a fake source left out, its model trained on the others);
# IMAGES the pictures it was given (the adapted models cut the new examples' faces themselves and rehearse on the
# fold's own crops, as its checkpoint records). For each fold, the left-out kind is the new one: its fakes and the
# held-out reals are shuffled (seeded), the first 100 of each are the example pool, and K = 10, 25, 50, 100 and 200
# examples (K/2 fakes, K/2 reals, each K's a superset of the one before) adapt the fold's model. Every model, the base
# (K = 0) included, is scored on the same held-out pictures no K used: the new kind's other fakes, each old kind's
# held-out fakes (the fold's in-domain file), against the held-out reals outside the pool. The ceiling is what the
# crossval measured for that kind when it was trained on (in-domain, the mean of the folds that train on it).
# K = 10 keeps 3 of each class to validate on (--validation-share 0.6), the others 30%. Writes WORK/adapt-curves.tsv
# and WORK/adapt-curves.png. Runs resume. Options after the seed go to every `adapt` (compare recipes in separate WORKs:
# the examples and the scored pictures depend only on the seed). Set VERACITY to a built binary to skip `dotnet run`,
# and CEILING_CROSSVAL to another crossval run on the same set whose folds train on the kinds CROSSVAL_DIR leaves out
# (when CROSSVAL_DIR holds only the folds adapted, no fold of it trains on their kinds).
set -euo pipefail
if [ $# -lt 3 ]; then echo "usage: $0 CROSSVAL_DIR IMAGES WORK [SEED]" >&2; exit 2; fi
cv="$(cd "$1" && pwd)"; images="$(cd "$2" && pwd)"; work="$3"; seed="${4:-0}"
adapt_options=("${@:5}")
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$work"; work="$(cd "$work" && pwd)"
v() { if [ -n "${VERACITY:-}" ]; then "$VERACITY" "$@"; else "$root/veracity" "$@"; fi; }
crops="$(/usr/bin/python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['labels'].rsplit('/', 1)[0])" "$cv/crossval.json")/images"
# ADAPT_SIZES picks some of them (the pool and the scored pictures stay the same).
sizes=(${ADAPT_SIZES:-10 25 50 100 200})

for fold_dir in "$cv"/*/; do
  fold="$(basename "$fold_dir")"
  [ -s "$fold_dir/run/best.ckpt" ] && [ -s "$fold_dir/test_label.txt" ] || continue
  out="$work/$fold"; mkdir -p "$out"
  # The example pool and the held-out scoring set, once per fold, and the example files of sizes added later (the
  # pool and the scored pictures depend on the seed alone, so writing them again changes nothing).
  missing=0; for k in "${sizes[@]}"; do [ -s "$out/examples-$k.csv" ] || missing=1; done
  [ -s "$out/scored.csv" ] && [ $missing -eq 0 ] || /usr/bin/python3 - "$fold_dir" "$out" "$seed" "${sizes[@]}" <<'PY'
import csv, random, sys
fold_dir, out, seed, sizes = sys.argv[1], sys.argv[2], sys.argv[3], [int(k) for k in sys.argv[4:]]
read = lambda name: list(csv.DictReader(open(f"{fold_dir}/{name}")))
test, in_domain = read("test_label.txt"), read("in_domain_label.txt")
pool = {}
for target in ("0", "1"):
    group = sorted((r for r in test if r["target"] == target), key=lambda r: r["img_name"])
    random.Random(f"adapt-curve-{seed}-{target}").shuffle(group)
    pool[target] = group
most = 100  # the pool per class: K = 200 at most, whichever sizes run
assert max(sizes) <= 2 * most
used = {r["img_name"] for t in pool for r in pool[t][:most]}
def write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["img_name", "target", "source"])
        w.writerows([r["img_name"], r["target"], r["source"]] for r in rows)
for k in sizes:
    write(f"{out}/examples-{k}.csv", pool["0"][:k // 2] + pool["1"][:k // 2])
scored, seen = [], set()
for r in test + in_domain:
    if r["img_name"] not in used and r["img_name"] not in seen:
        seen.add(r["img_name"]); scored.append(r)
write(f"{out}/scored.csv", scored)
PY
  # Scores every model on the held-out pictures, each fake source against the reals (`evaluate --by-source`): the crops
  # crossval cut, so no face is cut twice.
  score() { [ -s "$2/metrics.json" ] || v evaluate --model "$1" --labels "$out/scored.csv" --images "$crops" --no-faces --by-source \
    --out "$2" > /dev/null; }
  score "$fold_dir/run/best.ckpt" "$out/eval-0"
  for k in "${sizes[@]}"; do
    if [ ! -s "$out/adapt-$k/adapt.json" ]; then  # adapt writes it last
      share=0.3; [ "$k" -ge 25 ] || share=0.6
      rm -rf "$out/adapt-$k"
      echo "== $fold: adapt with $k examples"
      start=$(date +%s)
      v adapt --model "$fold_dir/run/best.ckpt" --labels "$out/examples-$k.csv" --images "$images" --validation-share "$share" \
        --seed "$seed" "${adapt_options[@]}" --out "$out/adapt-$k" > "$out/adapt-$k.log"
      echo $(( $(date +%s) - start )) > "$out/adapt-$k.seconds"
    fi
    score "$out/adapt-$k/run/best.ckpt" "$out/eval-$k"
  done
done

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs) model $(grep -m1 '^model' /proc/cpuinfo | cut -d: -f2 | xargs)"
ADAPT_OPTIONS="${adapt_options[*]}" /usr/bin/python3 - "$cv" "$work" "$cpu" "$(git -C "$root" rev-parse --short HEAD)" "${sizes[@]}" <<'PY'
import csv, json, os, sys
cv, work, cpu, commit, sizes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], [0] + [int(k) for k in sys.argv[5:]]

folds = [fold for run in [cv] + ([os.environ["CEILING_CROSSVAL"]] if os.environ.get("CEILING_CROSSVAL") else [])
         for fold in json.load(open(os.path.join(run, "crossval.json")))["folds"]]
ceilings = {}
for fold in folds:  # a kind's held-out fakes in the folds that trained on it
    for entry in fold.get("bySource") or []:
        if entry["source"] != fold["source"] and (entry.get("vsAllReals") or {}).get("auc") is not None:
            ceilings.setdefault(entry["source"], []).append(entry["vsAllReals"]["auc"])
rows = []
print(f"adapt curves, {cpu}, commit {commit}, crossval {cv}, adapt options: {os.environ.get('ADAPT_OPTIONS') or 'none'}")
print(f"{'new kind':14s} {'K':>4s} {'new AUC':>8s} {'ceiling':>8s} {'old kinds (AUC each)':>40s} {'minutes':>8s}")
for fold in sorted(d for d in os.listdir(work) if os.path.isfile(os.path.join(work, d, "scored.csv"))):
    base = os.path.join(work, fold)
    ceiling = sum(ceilings.get(fold, [float("nan")])) / max(1, len(ceilings.get(fold, [])))
    for k in sizes:
        path = os.path.join(base, f"eval-{k}", "metrics.json")
        if not os.path.exists(path): continue
        by_source = {e["source"]: e["vsAllReals"]["auc"] for e in json.load(open(path))["bySource"]}
        new = by_source.pop(fold)
        old = dict(sorted(by_source.items()))
        seconds = open(os.path.join(base, f"adapt-{k}.seconds")).read().strip() if k else "0"
        minutes = int(seconds) / 60
        rows.append([fold, k, f"{new:.4f}", f"{ceiling:.4f}", " ".join(f"{s}={a:.4f}" for s, a in old.items()), f"{minutes:.1f}"])
        print(f"{fold:14s} {k:4d} {new:8.4f} {ceiling:8.4f} {rows[-1][4]:>40s} {minutes:8.1f}")
with open(os.path.join(work, "adapt-curves.tsv"), "w", newline="") as f:
    w = csv.writer(f, delimiter="\t", lineterminator="\n")
    w.writerow(["new_kind", "examples", "new_auc", "ceiling", "old_aucs", "minutes"])
    w.writerows(rows)
PY
dotnet run --project "$root/bench/Veracity.Bench" -c Release -- adapt-plot --tsv "$work/adapt-curves.tsv" --out "$work/adapt-curves.png"
