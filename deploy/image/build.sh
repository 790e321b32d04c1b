#!/usr/bin/env bash
# Builds the container image of `veracity serve` and `veracity predict` with Debian's podman, FROM scratch: no base
# image can be pulled here, so this script assembles the root filesystem itself from a self-contained .NET publish and
# the system libraries that publish's programs and libraries link (ldd), and nothing else: no shell, no package
# manager. The image runs as user 10001, writes nothing outside /tmp (mount a volume or tmpfs there and run with a
# read-only root), answers /healthz for probes and stops on SIGTERM after in-flight requests (serve's own handling).
#
#   deploy/image/build.sh MODEL [IMAGE]     MODEL: a checkpoint (exported to ONNX here) or an .onnx file, baked in at
#                                           /model/model.onnx; "none" leaves /model empty for a mounted one.
#                                           IMAGE: the tag, veracity:local by default (the manifests in deploy/kubernetes use it).
#
# Then deploy/image/check.sh runs the image's filesystem under chroot. It publishes a Release build (2-3 minutes on
# 2 cores) and copies about 0.5 GB through podman's vfs storage; on a shared machine run it under the build lock.
# WORK=DIR keeps the publish and root filesystem there (default: a fresh temporary folder).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
model="${1:?usage: deploy/image/build.sh MODEL|none [IMAGE]}"
image="${2:-veracity:local}"
work="${WORK:-$(mktemp -d)}"
podman=(podman --storage-driver vfs)

if ! command -v podman >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "build: installing Debian's podman"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends podman
  else
    echo "build: needs Debian's podman: sudo apt-get install podman" >&2
    exit 2
  fi
fi

# Invariant globalisation: Veracity formats and parses with the invariant culture, and the image then needs no ICU (~30 MB).
publish="$work/publish"
dotnet publish "$repo/src/Veracity.Cli" -c Release -r linux-x64 --self-contained -p:InvariantGlobalization=true -o "$publish"

rootfs="$work/context/rootfs"
rm -rf "$work/context"
mkdir -p "$rootfs"/{app,model,data,tmp,etc,proc,dev,sys,usr/lib,usr/lib64}
ln -s usr/lib "$rootfs/lib"
ln -s usr/lib64 "$rootfs/lib64"
cp -a "$publish/." "$rootfs/app/"
mv "$rootfs/app/Veracity.Cli" "$rootfs/app/veracity"
# Left out: debug symbols and the debugger's, tracing's and the alternative garbage collectors' libraries; libtorch
# and TorchSharp's native bridge (the image runs .onnx models, which never load them: tests/Veracity.Tests/
# WithoutLibtorchTests.cs; 357 MiB stripped); ONNX Runtime's Windows DLL, which a package lays in every publish
# (17 MB); and the ImageNet starting weights, which only training reads (61 MB).
(cd "$rootfs/app" && rm -rf ./*.pdb createdump libmscordaccore.so libmscordbi.so libcoreclrtraceptprovider.so libclrgc.so \
  libclrgcexp.so libtorch*.so libc10.so libLibTorchSharp.so libgomp-*.so* libshm.so libaoti_custom_ops.so \
  libbackend_with_compiler.so libjitbackend_test.so libnnapi_backend.so onnxruntime.dll weights)
strip --strip-unneeded "$rootfs/app"/*.so*

# The system libraries: what every program and library in /app links, and OpenSSL, which .NET opens at run time for
# SHA-256 (the API key, predict --shard's manifest); ldd resolves them on this machine (Debian 12), whose glibc the
# image then carries.
mapfile -t libraries < <(
  { for elf in "$rootfs/app/veracity" "$rootfs/app"/*.so* /usr/lib/x86_64-linux-gnu/libssl.so.3 /usr/lib/x86_64-linux-gnu/libcrypto.so.3; do
      LD_LIBRARY_PATH="$rootfs/app" ldd "$elf"
    done; echo /usr/lib/x86_64-linux-gnu/libssl.so.3; echo /usr/lib/x86_64-linux-gnu/libcrypto.so.3; } |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | grep -v "^$rootfs/" | sort -u)
for library in "${libraries[@]}"; do
  target="$rootfs/usr/${library#/usr/}"
  case "$library" in /lib*) target="$rootfs/usr$library" ;; esac
  mkdir -p "$(dirname "$target")"
  cp -L "$library" "$target"
done
printf '%s\n' /usr/lib/x86_64-linux-gnu > "$rootfs/etc/ld.so.conf"
ldconfig -r "$rootfs"

printf 'root:x:0:0:root:/:/nonexistent\nveracity:x:10001:10001:veracity:/tmp:/nonexistent\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nveracity:x:10001:\n' > "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
chmod -R a+rX "$rootfs"

case "$model" in
  none) ;;
  *.onnx) cp "$model" "$rootfs/model/model.onnx" ;;
  *) "$publish/Veracity.Cli" export --model "$model" --out "$rootfs/model/model.onnx" ;;
esac

cat > "$work/context/Containerfile" <<'CONTAINERFILE'
FROM scratch
COPY rootfs/ /
USER 10001:10001
WORKDIR /data
EXPOSE 5080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/veracity"]
CMD ["serve", "--model", "/model/model.onnx", "--urls", "http://0.0.0.0:5080"]
CONTAINERFILE
"${podman[@]}" build --isolation chroot -t "$image" -f "$work/context/Containerfile" "$work/context"

size=$("${podman[@]}" image inspect "$image" --format '{{.Size}}')
echo "build: $image, $((size / 1000000)) MB ($(du -sm "$rootfs/app" | cut -f1) MiB in /app, $(du -sm "$rootfs/usr" | cut -f1) MiB of system libraries, $(du -sm "$rootfs/model" | cut -f1) MiB of model)"
