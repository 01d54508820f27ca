#!/usr/bin/env bash
# Registry import bench (issue 5): the bench disk as a containerdisk (an OCI image whose one gzip
# layer holds disk/disk.qcow2) in Debian's docker-registry on 127.0.0.1 over plain HTTP;
# cdi-importer imports it (IMPORTER_SOURCE=registry) into a file target, side by side in one run
# with what CDI's importer does internally, as a user would run it by hand (`skopeo copy` to a dir:
# in scratch, extract disk/disk.qcow2 from the layer blob, `qemu-img convert` to the target) and
# with the same but streaming the blob from the registry API into tar (no copy of the blob on
# scratch). Every runner ends with the target synced. Markdown table on stdout.
#
# Environment:
#   BENCH_SIZE      virtual size of the disk (default 4G; binary units)
#   BENCH_DIR       inputs and outputs (default /var/tmp/cdi-bench). The disk set of bench/run.sh
#                   there is reused when it has this size; otherwise one is built (once) in
#                   $BENCH_DIR/registry-<bytes>, so the shared set of the other benches survives.
#   REPS            cold runs per runner (default 3)
#   BENCH_IMPORTER  the cdi-importer binary (default <repo>/build-bench/importer/cdi-importer)
#   BENCH_GZIP_LEVEL  gzip level of the layer (default 6: the default of docker and buildah)
#   BENCH_GUNZIP    the peers' gzip decoder for tar -I (default pigz: faster than gzip here)
#   BENCH_ORIGIN_TMPFS=1  the registry serves a copy of its storage from /dev/shm (see bench/http_import.sh)
# The image (build + push) is cached in $BENCH_DIR/registry-<bytes>/storage, marked by pushed.done.
# Needs root (drops the page cache before every timed run), docker-registry, skopeo, curl, jq,
# pigz, tar, qemu-img, /usr/bin/python3 (tests/support/oci_image.py).
# shellcheck disable=SC2016
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

size=$(bench_bytes "${BENCH_SIZE:-4G}")
dir=${BENCH_DIR:-/var/tmp/cdi-bench}
reps=${REPS:-3}
importer=${BENCH_IMPORTER:-$repo/build-bench/importer/cdi-importer}
level=${BENCH_GZIP_LEVEL:-6}
gunzip=${BENCH_GUNZIP:-pigz}

[[ $(id -u) -eq 0 ]] || bench_die "run as root: every timed run starts with drop_caches"
[[ -x $importer ]] || bench_die "no importer at $importer (cmake --build build-bench --target cdi-importer)"
for t in docker-registry skopeo curl jq "$gunzip" tar qemu-img cmp; do
  command -v "$t" > /dev/null || bench_die "missing tool: $t (scripts/setup.sh installs it)"
done

reg="$dir/registry-$size"
src=$dir
[[ -f $dir/inputs-$size.done ]] || src=$reg
bench_build_inputs "$src" "$size"
ref="$src/disk.raw"
qcow2="$src/disk.qcow2"
work="$dir/out-registry"
export BENCH_CMD_LOG="$work/commands.log"
export TARGET_DIR="$work/target" SCRATCH_DIR="$work/scratch" IMPORTER=$importer GUNZIP=$gunzip SIZE=$size
rm -rf "$work"
mkdir -p "$work" "$reg/storage"
: > "$BENCH_CMD_LOG"

# One registry for the whole run, config as tests/support/docker_registry.hpp (plain HTTP, no auth).
bench_registry_start "$work" "$reg/storage"
port=$BENCH_REGISTRY_PORT registry_pid=$BENCH_REGISTRY_PID
origin=""
cleanup() {
  kill "$registry_pid" 2> /dev/null || true
  [[ -z $origin ]] || rm -rf "$origin"
}
trap cleanup EXIT
export REF="docker://127.0.0.1:$port/bench/disk:v1" API="http://127.0.0.1:$port/v2/bench/disk"

# The containerdisk, built and pushed once per input set (rebuilt when the qcow2 is newer).
bench_containerdisk_push "$reg" "$qcow2" "$level" "$REF"
# BENCH_ORIGIN_TMPFS=1: the registry serves a copy of its storage from /dev/shm, which drop_caches
# leaves in memory (a remote registry's disk is not the target's), as bench/http_import.sh does.
if [[ ${BENCH_ORIGIN_TMPFS:-} == 1 ]]; then
  kill "$registry_pid" 2> /dev/null || true
  wait "$registry_pid" 2> /dev/null || true
  origin=$(mktemp -d /dev/shm/cdi-bench-registry.XXXXXX)
  bench_log "copying the registry's storage to $origin (tmpfs)"
  cp -a "$reg/storage/." "$origin/"
  bench_registry_start "$work" "$origin"
  port=$BENCH_REGISTRY_PORT registry_pid=$BENCH_REGISTRY_PID
  export REF="docker://127.0.0.1:$port/bench/disk:v1" API="http://127.0.0.1:$port/v2/bench/disk"
fi
manifest_accept='application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'
layer_size=$(curl -sSf -H "Accept: $manifest_accept" "$API/manifests/v1" | jq -r '.layers[0].size')
export MANIFEST_ACCEPT=$manifest_accept

ours() {
  rm -f "$TARGET_DIR/../termination-log"
  env -i PATH="$PATH" IMPORTER_SOURCE=registry IMPORTER_ENDPOINT="$REF" INSECURE_TLS=true \
    IMPORTER_CONTENTTYPE=kubevirt IMPORTER_IMAGE_SIZE="$SIZE" \
    CDI_DATA_DIR="$TARGET_DIR" CDI_SCRATCH_DIR="$SCRATCH_DIR" CDI_BLOCK_DEVICE=/nonexistent \
    CDI_TERMINATION_LOG="$TARGET_DIR/../termination-log" CDI_METRICS_PORT=0 OWNER_UID=bench \
    "$IMPORTER" 2> "$TARGET_DIR/../importer.log"
  local rc=$?
  cat "$TARGET_DIR/../importer.log" >&2
  ((rc == 0)) || return "$rc"
  grep -q 'Import Complete' "$TARGET_DIR/../termination-log" || {
    echo "termination message: $(cat "$TARGET_DIR/../termination-log")" >&2
    return 1
  }
}
# What CDI's registry source does in-process (containers/image copy to a dir in scratch, layer
# extraction, qemu-img convert), with the command-line tools; scratch cleaned before the sync, as
# the pod's scratch goes with it.
skopeo_extract_convert() {
  skopeo --insecure-policy copy -q --src-tls-verify=false --src-no-creds "$REF" "dir:$SCRATCH_DIR/img" || return
  local digest
  digest=$(jq -r '.layers[0].digest' "$SCRATCH_DIR/img/manifest.json") || return
  tar -I "$GUNZIP" -xf "$SCRATCH_DIR/img/${digest#sha256:}" -C "$SCRATCH_DIR" disk/disk.qcow2 || return
  qemu-img convert -t writeback -p -f qcow2 -O raw "$SCRATCH_DIR/disk/disk.qcow2" "$TARGET_DIR/disk.img" || return
  rm -rf "${SCRATCH_DIR:?}"/*
  sync "$TARGET_DIR/disk.img"
}
# The same without the copy of the blob: the layer streamed from the registry API into tar
# (no digest check, unlike skopeo and ours).
curl_extract_convert() {
  local digest
  digest=$(curl -sSf -H "Accept: $MANIFEST_ACCEPT" "$API/manifests/v1" | jq -r '.layers[0].digest') || return
  set -o pipefail
  curl -sSfL "$API/blobs/$digest" | tar -I "$GUNZIP" -xf - -C "$SCRATCH_DIR" disk/disk.qcow2 || return
  qemu-img convert -t writeback -p -f qcow2 -O raw "$SCRATCH_DIR/disk/disk.qcow2" "$TARGET_DIR/disk.img" || return
  rm -rf "${SCRATCH_DIR:?}"/*
  sync "$TARGET_DIR/disk.img"
}
export -f ours skopeo_extract_convert curl_extract_convert

BENCH_ROWS=()
bench_compare containerdisk "$size" "$reps" "$ref" "$TARGET_DIR/disk.img" bench_run_cold \
  ours skopeo_extract_convert curl_extract_convert
rm -rf "$TARGET_DIR" "$SCRATCH_DIR"

# Where our time went in the last run of ours, from its log: start to the TransferScratch phase
# (TLS probe, manifest, config, layer lookup), TransferScratch (pull, gunzip, untar, write the
# qcow2 to scratch), Convert up to Complete (qemu-img convert, fsync, resize check).
phases=$(awk '{ split($2, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]; if (NR == 1) a = s }
  /Processing phase TransferScratch/ { b = s } /Processing phase Convert/ { c = s }
  /Processing phase Complete/ { d = s }
  END { if (b && c && d) printf "%.1f s to the layer, %.1f s TransferScratch (pull + gunzip + untar + write to scratch), %.1f s Convert (qemu-img convert + fsync)", b - a, c - b, d - c }' \
  "$work/importer.log")

echo "Virtual size $size bytes; containerdisk on docker-registry at 127.0.0.1 (plain HTTP): disk/disk.qcow2 of $(stat -c %s "$qcow2") bytes in one gzip -$level layer of $layer_size bytes."
echo "Median of $reps cold runs; GB/s = virtual size / time; peers extract with tar -I $gunzip. Ours (last run): ${phases:-no phase lines in the log}."
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs."
echo
echo "| import | peer | ours s | peer s | ours GB/s | peer GB/s | ours/peer | ours peak RSS MiB | peer peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${BENCH_ROWS[@]}"
