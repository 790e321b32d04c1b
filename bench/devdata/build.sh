#!/usr/bin/env bash
# Builds the development corpus of real faces from snapshots of the public repositories in sources.tsv:
#   bench/devdata/build.sh REPOS_DIR OUT_DIR [QUALITY] [SIDE]
# REPOS_DIR holds one git repository per source repository, as `owner+name/repo` (what the team's fetch tool
# writes) or `owner+name` or `name`. Only the listed commit and folders are read; the repositories' other folders
# are never touched (some are reserved for independent evaluation).
# Every image is decoded, resized so its longer side is SIDE px (default 250, the smallest source's size; never
# enlarged) and re-encoded as JPEG at QUALITY (default 90), so no source carries a compression or resolution tell
# (the LFW face swaps were saved at about quality 95 and their reals at about 75). Writes OUT_DIR/images/<source>/,
# OUT_DIR/labels.csv (img_name,target,source) and prints the counts. Images never go into git.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 REPOS_DIR OUT_DIR [QUALITY] [SIDE]" >&2
  exit 2
fi
repos="$1"; out="$2"; quality="${3:-90}"; side="${4:-250}"
# Pillow decodes and re-encodes; a new machine may lack it (as bench/run.sh does for the peer, Debian's package).
if ! /usr/bin/python3 -c "import PIL" 2>/dev/null; then
  echo "Installing python3-pil"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pil
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

row=0
while IFS=$'\t' read -r repository commit path class source count _licence _note; do
  [ "$repository" = "repository" ] && continue
  row=$((row + 1))
  slug="${repository/\//+}"
  dir=""
  for candidate in "$repos/$slug/repo" "$repos/$slug" "$repos/${repository#*/}"; do
    if [ -d "$candidate" ] && git -C "$candidate" cat-file -e "$commit^{commit}" 2>/dev/null; then dir="$candidate"; break; fi
  done
  if [ -z "$dir" ]; then
    echo "error: $repository at $commit not found under $repos (looked for $slug/repo, $slug, ${repository#*/})" >&2
    exit 1
  fi
  mkdir -p "$work/$row"
  # A snapshot may lack large files outside the listed folders; git archive names them but still writes the folder.
  git -C "$dir" archive --format=tar "$commit" -- "$path" 2> >(grep -v '^error: invalid object' >&2) | tar -x -C "$work/$row"
  found=$(find "$work/$row/$path" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | wc -l)
  echo "$repository@${commit:0:7} $path: $found images ($count listed) -> $source (target $class)"
  if [ "$found" -ne "$count" ]; then echo "warning: $path holds $found images, the manifest says $count" >&2; fi
  printf '%s\t%s\t%s\t%s\n' "$row" "$work/$row/$path" "$class" "$source" >> "$work/plan.tsv"
done < "$here/sources.tsv"

/usr/bin/python3 - "$work/plan.tsv" "$out" "$quality" "$side" <<'PY'
import csv, hashlib, os, sys
from collections import Counter
from PIL import Image

plan, out, quality, side = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows, counts, seen, duplicates = [], Counter(), {}, 0
for line in open(plan):
    row, folder, target, source = line.rstrip("\n").split("\t")
    os.makedirs(os.path.join(out, "images", source), exist_ok=True)
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith((".jpg", ".jpeg", ".png")):
            continue
        image = Image.open(os.path.join(folder, name)).convert("RGB")
        scale = min(1.0, side / max(image.size))
        if scale < 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
        digest = hashlib.sha1(image.tobytes()).hexdigest()
        if digest in seen:  # the same picture twice (within or across sources) would leak between splits
            duplicates += 1
            continue
        seen[digest] = name
        relative = f"images/{source}/{row}-{os.path.splitext(name)[0]}.jpg"
        image.save(os.path.join(out, relative), quality=quality)
        rows.append((relative[len("images/"):], target, source))
        counts[(source, target)] += 1

with open(os.path.join(out, "labels.csv"), "w", newline="") as f:
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(["img_name", "target", "source"])
    writer.writerows(rows)
print(f"{len(rows)} images written to {out}/images (JPEG quality {quality}, longer side at most {side} px); "
      f"{duplicates} exact duplicates left out")
for (source, target), n in sorted(counts.items()):
    print(f"  {source:14s} {'deepfake' if target == '1' else 'real':8s} {n}")
PY
echo "labels: $out/labels.csv (images under $out/images)"
