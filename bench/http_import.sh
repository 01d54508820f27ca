#!/usr/bin/env bash
# HTTP import bench (issue 4): nginx serves the bench disk on 127.0.0.1 as qcow2, raw.xz and raw.gz;
# cdi-importer imports it into a file target, side by side in one run with what CDI runs (nbdkit's
# curl plugin with CDI's exact flags, plus its xz filter for raw.xz, feeding `qemu-img convert`) and
# with the download-then-convert shape (curl into scratch, decompressing on the way, then
# `qemu-img convert`). Every runner ends with the target synced. Markdown table on stdout.
#
# Environment:
#   BENCH_SIZE, BENCH_DIR, REPS   as bench/run.sh (inputs shared with it)
#   BENCH_IMPORTER                the cdi-importer binary (default <repo>/build-bench/importer/cdi-importer)
#   BENCH_ONLY                    subset of: qcow2 qcow2c vmdk qcow2-delay qcow2-l1end xz gz s3-qcow2 s3-xz (default all)
#   BENCH_ORIGIN_TMPFS=1          nginx serves copies of the inputs from /dev/shm, which drop_caches
#                                 leaves in memory: the origin's reads no longer share the target's
#                                 disk, as with a remote origin (the default serves BENCH_DIR, read
#                                 cold from the same disk the targets are written to)
# qcow2 also runs ours with CDI_CONVERTER=qemu-img (staged in scratch, then qemu-img: the path before
# issue 14) as a peer; qcow2c is the same disk with zlib-compressed clusters (qemu-img convert -c);
# vmdk the same disk as a streamOptimized VMDK;
# qcow2-delay goes through bench/delay_proxy.py adding 25 ms each way, against a plain curl download
# of the same file through the same proxy (the bar: ours/peer >= 0.8).
# qcow2-l1end is the same disk with its L1 table at the end of the file (every byte of data passes
# before any table names it): ours reads the passed-over bytes again with Range requests; the peers
# are ours with a checksum set (no re-read: the bytes are spilled to scratch instead), nbdkit and
# curl into scratch.
# s3-qcow2 and s3-xz (issue 16) import from tests/support/s3_server.py (path-style, verifying every
# request's Signature V4) with IMPORTER_SOURCE=s3, against what CDI's S3 source does: the object
# downloaded with `curl --aws-sigv4` into scratch then `qemu-img convert` (qcow2), or decompressed
# straight to the target (raw.xz). Both sides read the same python server, so the rows compare the
# importers over one peer, not against nginx.
# Needs root (drops the page cache before every timed run).
# shellcheck disable=SC2016
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

size=$(bench_bytes "${BENCH_SIZE:-2G}")
dir=${BENCH_DIR:-/var/tmp/cdi-bench}
reps=${REPS:-3}
importer=${BENCH_IMPORTER:-$repo/build-bench/importer/cdi-importer}
only=${BENCH_ONLY:-qcow2 qcow2c vmdk qcow2-delay qcow2-l1end xz gz s3-qcow2 s3-xz}

[[ $(id -u) -eq 0 ]] || bench_die "run as root: every timed run starts with drop_caches"
[[ -x $importer ]] || bench_die "no importer at $importer (cmake --build build-bench --target cdi-importer)"
for t in curl nginx nbdkit xz gzip qemu-img cmp; do
  command -v "$t" > /dev/null || bench_die "missing tool: $t (scripts/setup.sh installs it)"
done

bench_build_inputs "$dir" "$size"
ref="$dir/disk.raw"
work="$dir/out-http"
export BENCH_CMD_LOG="$work/commands.log"
export TARGET_DIR="$work/target" SCRATCH_DIR="$work/scratch" IMPORTER=$importer
rm -rf "$work"
mkdir -p "$work"
: > "$BENCH_CMD_LOG"

# One nginx for the whole run, serving the inputs directory (sendfile, keep-alive, ranges).
# Everything this script starts, and the tmpfs copy, goes at exit, whatever has been started by then.
origin=$dir nginx_pid="" proxy_pid="" s3_pid=""
cleanup() {
  kill $nginx_pid $proxy_pid $s3_pid 2> /dev/null || true
  [[ $origin == "$dir" ]] || rm -rf "$origin"
}
trap cleanup EXIT
if [[ ${BENCH_ORIGIN_TMPFS:-} == 1 ]]; then
  origin=$(mktemp -d /dev/shm/cdi-bench-origin.XXXXXX)
  bench_log "copying the inputs to $origin (tmpfs)"
  for f in disk.qcow2 disk.c.qcow2 disk.l1end.qcow2 disk.stream.vmdk disk.raw.xz disk.raw.gz; do
    [[ -f $dir/$f ]] && cp "$dir/$f" "$origin/"
  done
fi
bench_nginx_http_start "$work/nginx" "$origin" disk.qcow2
port=$BENCH_NGINX_PORT nginx_pid=$BENCH_NGINX_PID
export BASE="http://127.0.0.1:$port"

# The same nginx 25 ms away in each direction.
python3 "$here/delay_proxy.py" 0 127.0.0.1 "$port" 25 "$work/proxy.port" &
proxy_pid=$!
for _ in $(seq 100); do [[ -s $work/proxy.port ]] && break; sleep 0.05; done
export FAR="http://127.0.0.1:$(cat "$work/proxy.port")"

# The S3 server: bucket "bench" is the inputs directory.
mkdir -p "$work/s3root"
ln -s "$dir" "$work/s3root/bench"
export S3_KEY=AKIDBENCHEXAMPLE S3_SECRET=bench/Secret+Key0000EXAMPLE
python3 "$repo/tests/support/s3_server.py" --root "$work/s3root" --port-file "$work/s3.port" \
  --access-key "$S3_KEY" --secret-key "$S3_SECRET" &
s3_pid=$!
for _ in $(seq 100); do [[ -s $work/s3.port ]] && break; sleep 0.05; done
S3="http://127.0.0.1:$(cat "$work/s3.port")/bench"
export S3

ours() { # file name on the server, base URL (default $BASE), converter (default stream), checksum (default none)
  env -i PATH="$PATH" IMPORTER_SOURCE=http IMPORTER_ENDPOINT="${2:-$BASE}/$1" IMPORTER_CONTENTTYPE=kubevirt \
    ${4:+IMPORTER_CHECKSUM="$4"} \
    CDI_DATA_DIR="$TARGET_DIR" CDI_SCRATCH_DIR="$SCRATCH_DIR" CDI_BLOCK_DEVICE=/nonexistent CDI_CONVERTER="${3:-stream}" \
    CDI_TERMINATION_LOG="$TARGET_DIR/../termination-log" CDI_METRICS_PORT=0 OWNER_UID=bench "$IMPORTER"
  local rc=$?
  # Scratch bytes written by the run: its scratch directory must be empty at the end.
  [[ -z $(ls -A "$SCRATCH_DIR") ]] || { echo "scratch not empty after the import" >&2; return 1; }
  return $rc
}
ours_s3() { # object name in the bench bucket
  env -i PATH="$PATH" IMPORTER_SOURCE=s3 IMPORTER_ENDPOINT="$S3/$1" IMPORTER_CONTENTTYPE=kubevirt \
    IMPORTER_ACCESS_KEY_ID="$S3_KEY" IMPORTER_SECRET_KEY="$S3_SECRET" \
    CDI_DATA_DIR="$TARGET_DIR" CDI_SCRATCH_DIR="$SCRATCH_DIR" CDI_BLOCK_DEVICE=/nonexistent \
    CDI_TERMINATION_LOG="$TARGET_DIR/../termination-log" CDI_METRICS_PORT=0 OWNER_UID=bench "$IMPORTER"
}
# CDI's S3 source: a convertible image into scratch then qemu-img; raw.xz decompressed to the target.
curl_s3() { # object name, decompressor or "", qemu format or "" (straight to the target)
  local get=(curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --user "$S3_KEY:$S3_SECRET"
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "$S3/$1")
  if [[ -z $3 ]]; then
    "${get[@]}" | $2 > "$TARGET_DIR/disk.img"
  else
    "${get[@]}" -o "$SCRATCH_DIR/tmpimage"
    qemu-img convert -t writeback -p -f "$3" -O raw "$SCRATCH_DIR/tmpimage" "$TARGET_DIR/disk.img"
    rm "$SCRATCH_DIR/tmpimage"
  fi
  sync "$TARGET_DIR/disk.img"
}
# A plain download of the file into the target directory, synced (the delay row's bar).
curl_download() { # URL
  curl -sS -o "$TARGET_DIR/download" "$1" && sync "$TARGET_DIR/download"
  # A download is no disk: bench_compare's check of the output (meant for ours) is pointed at the
  # reference itself, at no cost to the timing.
  ln -s "$REF" "$TARGET_DIR/disk.img"
}
# CDI's nbdkit command line (contract 2.10), then its qemu-img convert (-t writeback -p -O raw).
nbdkit_convert() { # file name, extra filter
  local sock=$SCRATCH_DIR/nbdkit.sock pidf=$SCRATCH_DIR/nbdkit.pid
  nbdkit --foreground --readonly --exit-with-parent -U "$sock" --pidfile "$pidf" \
    --filter=readahead --filter=retry ${2:+--filter=$2} -r curl header='User-Agent: cdi-nbdkit-importer' \
    retry-exponential=no url="$BASE/$1" &
  local pid=$!
  for _ in $(seq 300); do [[ -s $pidf ]] && break; sleep 0.05; done
  qemu-img convert -t writeback -p -O raw "nbd+unix:///?socket=$sock" "$TARGET_DIR/disk.img"
  kill "$pid"
  wait "$pid" || true
  sync "$TARGET_DIR/disk.img"
}
# Download into scratch (decompressing on the way, as CDI's HTTP source does), then convert.
curl_scratch_convert() { # file name, decompressor or "", qemu format
  if [[ -n $2 ]]; then
    curl -sS "$BASE/$1" | $2 > "$SCRATCH_DIR/tmpimage"
  else
    curl -sS -o "$SCRATCH_DIR/tmpimage" "$BASE/$1"
  fi
  qemu-img convert -t writeback -p -f "$3" -O raw "$SCRATCH_DIR/tmpimage" "$TARGET_DIR/disk.img"
  rm "$SCRATCH_DIR/tmpimage"
  sync "$TARGET_DIR/disk.img"
}
export REF=$ref
if [[ " $only " == *" qcow2-l1end "* ]]; then
  L1END_SUM=sha256:$(sha256sum "$dir/disk.l1end.qcow2" | cut -c1-64)
  export L1END_SUM
fi
export -f ours nbdkit_convert curl_scratch_convert curl_download ours_s3 curl_s3

declare -A runners
runners[qcow2]='ours disk.qcow2
nbdkit_convert disk.qcow2
curl_scratch_convert disk.qcow2 "" qcow2
ours disk.qcow2 "$BASE" qemu-img'
runners[qcow2c]='ours disk.c.qcow2
nbdkit_convert disk.c.qcow2
curl_scratch_convert disk.c.qcow2 "" qcow2'
runners[vmdk]='ours disk.stream.vmdk
nbdkit_convert disk.stream.vmdk
curl_scratch_convert disk.stream.vmdk "" vmdk'
runners[qcow2-delay]='ours disk.qcow2 "$FAR"
curl_download "$FAR/disk.qcow2"'
runners[qcow2-l1end]='ours disk.l1end.qcow2
ours disk.l1end.qcow2 "$BASE" stream "$L1END_SUM"
nbdkit_convert disk.l1end.qcow2
curl_scratch_convert disk.l1end.qcow2 "" qcow2'
runners[xz]='ours disk.raw.xz
nbdkit_convert disk.raw.xz xz
curl_scratch_convert disk.raw.xz "xz -dc -T0" raw'
runners[gz]='ours disk.raw.gz
curl_scratch_convert disk.raw.gz "gzip -dc" raw'
runners[s3-qcow2]='ours_s3 disk.qcow2
curl_s3 disk.qcow2 "" qcow2'
runners[s3-xz]='ours_s3 disk.raw.xz
curl_s3 disk.raw.xz "xz -dc -T0" ""'

BENCH_ROWS=()
for w in $only; do
  [[ -n ${runners[$w]:-} ]] || bench_die "unknown workload $w"
  mapfile -t cmds <<< "${runners[$w]}"
  bench_compare "$w" "$size" "$reps" "$ref" "$TARGET_DIR/disk.img" bench_run_cold "${cmds[@]}"
done
rm -rf "$TARGET_DIR" "$SCRATCH_DIR"

echo "Virtual size $size bytes over HTTP from nginx on 127.0.0.1; median of $reps cold runs; GB/s = virtual size / time."
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs."
echo
echo "| import | peer | ours s | peer s | ours GB/s | peer GB/s | ours/peer | ours peak RSS MiB | peer peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${BENCH_ROWS[@]}"
