#!/usr/bin/env bash
# Checks the image deploy/image/build.sh made, without a container runtime (none can start on these machines): exports
# the image's filesystem and, in a mount namespace of its own, makes it a read-only root with what a runtime would
# mount (/proc, /dev, a writable /tmp), then runs the image's programs there under chroot, as user 10001, with an empty
# environment: serve must become ready on /healthz, score a picture over loopback and exit 0 on SIGTERM; predict must
# score a shard of a folder. Prints the image's size, and fails if it is over the size asked (MAX_MB, default 300).
#
#   deploy/image/check.sh PICTURES [IMAGE]    PICTURES: a folder of images; IMAGE: veracity:local by default
set -euo pipefail
pictures="$(cd "${1:?usage: deploy/image/check.sh PICTURES [IMAGE]}" && pwd)"
image="${2:-veracity:local}"
max_mb="${MAX_MB:-300}"
port="${PORT:-5097}"
podman=(podman --storage-driver vfs)
work="$(mktemp -d)"
server=""
cleanup() {
  # $server is unshare; the program it forked (in the chroot) outlives it unless killed too, and held the port once.
  [ -n "$server" ] && { pkill -KILL -P "$server"; kill -KILL "$server"; } 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

container=$("${podman[@]}" create "$image")
"${podman[@]}" export -o "$work/filesystem.tar" "$container" >/dev/null
"${podman[@]}" rm "$container" >/dev/null
mkdir "$work/root" "$work/tmp"
tar -xf "$work/filesystem.tar" -C "$work/root"
rm "$work/filesystem.tar"
chmod 1777 "$work/tmp"
size=$("${podman[@]}" image inspect "$image" --format '{{.Size}}')

# The image's programs as a runtime would start them: read-only root, /proc, /dev, a writable /tmp (here a host
# folder, so predict's output can be read afterwards), the pictures at /data, user 10001, no environment at all. It
# replaces the shell it runs in: run it in a subshell or in the background, whose process is then the program's parent.
in_image() {
  exec unshare --mount --fork -- sh -c '
    root="$1" tmp="$2" data="$3"; shift 3
    mount --bind "$root" "$root" && mount -o remount,bind,ro "$root"
    mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev"
    mount --bind "$tmp" "$root/tmp" && mount --bind -o ro "$data" "$root/data"
    exec env -i "$(command -v chroot)" --userspec=10001:10001 "$root" /app/veracity "$@"' in_image "$work/root" "$work/tmp" "$pictures" "$@"
}

start=$(date +%s%N)
in_image serve --model /model/model.onnx --urls "http://127.0.0.1:$port" > "$work/serve.log" 2>&1 &
server=$!
ready=""
for _ in $(seq 1 240); do
  if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then ready=$((($(date +%s%N) - start) / 1000000)); break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/serve.log" >&2; echo "check: serve exited before it was ready" >&2; exit 1; fi
  sleep 0.5
done
[ -n "$ready" ] || { cat "$work/serve.log" >&2; echo "check: serve not ready after 120 s" >&2; exit 1; }
# sed reads the whole list: head exits after a line, and sort, still writing, then failed the run with SIGPIPE (141).
picture="$(find "$pictures" -maxdepth 1 -type f | sort | sed -n 1p)"
answer="$(curl -sf -F "image=@$picture" "http://127.0.0.1:$port/api/v1/score")"
echo "$answer" | grep -q '"fake_probability":' || { echo "check: no score in $answer" >&2; exit 1; }
pid="$(pgrep -P "$server")"
rss_kib="$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")"
kill -TERM "$pid"
stopped=0
wait "$server" || stopped=$?
server=""
[ "$stopped" -eq 0 ] || { cat "$work/serve.log" >&2; echo "check: serve exited with $stopped on SIGTERM" >&2; exit 1; }

(in_image predict --model /model/model.onnx --images /data --shard 0/2 --out /tmp/part-0.csv) > "$work/predict.log" 2>&1 ||
  { cat "$work/predict.log" >&2; echo "check: predict failed in the image" >&2; exit 1; }
rows=$(($(wc -l < "$work/tmp/part-0.csv") - 1))
[ -s "$work/tmp/part-0.csv.shard.json" ] || { echo "check: predict --shard wrote no manifest" >&2; exit 1; }

echo "check: $image is $((size / 1000000)) MB (at most $max_mb asked)"
echo "check: serve ready in ${ready} ms under chroot with an empty environment and a read-only root; scored $(basename "$picture"): $answer"
echo "check: serve peak RSS $((rss_kib / 1024)) MiB; exit 0 on SIGTERM"
echo "check: predict --shard 0/2 wrote $rows rows and a manifest"
[ "$((size / 1000000))" -le "$max_mb" ] || { echo "check: the image is over $max_mb MB" >&2; exit 1; }
