#!/usr/bin/env bash
# Splits the development corpus into its tuning part and its sealed exam (the sources in exam.txt):
#   bench/devdata/split-exam.sh DEVDATA_DIR OUT_DIR   ->   OUT_DIR/tuning.csv, OUT_DIR/exam.csv (img_name,target,source)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$2"
/usr/bin/python3 - "$1/labels.csv" "$here/exam.txt" "$2/tuning.csv" "$2/exam.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
exam = {line.strip() for line in open(sys.argv[2]) if line.strip() and not line.startswith("#")}
missing = exam - {r["source"] for r in rows}
if missing:
    sys.exit(f"error: the exam's sources {sorted(missing)} are not in {sys.argv[1]}: build the corpus from bench/devdata/sources.tsv")
for path, keep in ((sys.argv[3], lambda r: r["source"] not in exam), (sys.argv[4], lambda r: r["source"] in exam)):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["img_name", "target", "source"])
        writer.writerows([r["img_name"], r["target"], r["source"]] for r in rows if keep(r))
PY
