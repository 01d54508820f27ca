#!/usr/bin/env bash
# Host-assisted clone bench: the bench disk (an ext4 image, about half full, sparse on disk) cloned
# to a fresh cdi-uploadserver (file target) over mTLS, by our cdi-cloner against CDI's shape: GNU
# `tar cS` (filesystem) or `cat` of the device (block) | a Snappy framing encoder process
# (bench/snappy_frame_stream.cpp, libsnappy, as golang/snappy's buffered writer) | curl's chunked
# POST (`-T -`: streamed, chunked, as Go's client; `--data-binary @-` would read the whole stream
# into memory first). Same target server, same certificates, page cache dropped before each run, runs interleaved
# (ours, peer, ours, …), medians. The sender's wall time covers the whole clone: the server answers
# only after its fsync. Prints a markdown table on stdout; progress on stderr.
#
# Workloads: fs    a filesystem volume holding disk.img (a hard link to the bench disk)
#            block the bench disk as a read-only loop device
# Environment: BENCH_DIR (inputs; default /var/tmp/cdi-bench-$BENCH_SIZE, built by bench/all.sh or
# reused), BENCH_SIZE (default 2G), REPS (default 3), BENCH_BUILD_DIR (default build-bench; needs
# cloner/cdi-cloner, server/cdi-uploadserver, bench/snappy-frame-stream), BENCH_ONLY (fs block).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

size=${BENCH_SIZE:-2G}
dir=${BENCH_DIR:-/var/tmp/cdi-bench-$size}
reps=${REPS:-3}
build=${BENCH_BUILD_DIR:-$repo/build-bench}
[[ $build == /* ]] || build=$repo/$build
only=${BENCH_ONLY:-fs block}
cloner=$build/cloner/cdi-cloner
server=$build/server/cdi-uploadserver
framer=$build/bench/snappy-frame-stream
for b in "$cloner" "$server" "$framer"; do [[ -x $b ]] || bench_die "missing $b"; done
[[ -f $dir/disk.raw ]] || bench_die "no bench disk at $dir/disk.raw (run bench/all.sh once)"
[[ $(id -u) == 0 ]] || bench_die "run as root (loop devices, drop_caches)"

work=$dir/clone
rm -rf "$work"
mkdir -p "$work/src" "$work/pki"
ln "$dir/disk.raw" "$work/src/disk.img"
bash "$repo/scripts/make-upload-pki.sh" "$work/pki"
loop=$(losetup -r -f --show "$dir/disk.raw")
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  losetup -d "$loop" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export BENCH_CMD_LOG=$work/commands.log

start_server() { # -> $port
  rm -rf "$work/data"
  mkdir -p "$work/data"
  port=$(bench_free_port)
  TLS_KEY_FILE=$work/pki/tls.key TLS_CERT_FILE=$work/pki/tls.crt CLIENT_CERT_FILE=$work/pki/ca.crt \
    CLIENT_NAME=client.upload-server.cdi.kubevirt.io LISTEN_ADDRESS=127.0.0.1 LISTEN_PORT=$port \
    CDI_DATA_DIR=$work/data CDI_TERMINATION_LOG=$work/server-termination-log \
    "$server" > "$work/server.log" 2>&1 &
  server_pid=$!
  local i
  for ((i = 0; i < 100; i++)); do
    curl -sf --cacert "$work/pki/ca.crt" "https://127.0.0.1:$port/healthz" > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  bench_die "the upload server did not start: $(cat "$work/server.log")"
}

# One cold run: a fresh server, caches dropped, the sender timed; "seconds rss_kib".
run_once() { # command (with $port available as PORT)
  start_server
  bench_drop_caches
  local t rss rc
  read -r t rss rc <<< "$(PORT=$port bench_timed bash -c "$1")"
  wait "$server_pid" || true
  server_pid=
  [[ $rc == 0 ]] || bench_die "exit status $rc from: $1 (see $BENCH_CMD_LOG)"
  echo "$t $rss"
}

ours() { # mode mount
  cat <<CMD
CLIENT_KEY="\$(cat $work/pki/client.key)" CLIENT_CERT="\$(cat $work/pki/client.crt)" SERVER_CA_CERT="\$(cat $work/pki/ca.crt)" \
UPLOAD_URL=https://127.0.0.1:\$PORT/v1beta1/upload OWNER_UID=bench PREALLOCATION=false VOLUME_MODE=$1 MOUNT_POINT=$2 \
CDI_TERMINATION_LOG=$work/termination-log CDI_METRICS_ADDRESS=127.0.0.1 CDI_METRICS_PORT=0 $cloner
CMD
}
curl_post() { # content-type
  echo "curl -sS -f -o /dev/null --cacert $work/pki/ca.crt --cert $work/pki/client.crt --key $work/pki/client.key -H 'x-cdi-content-type: $1' -X POST -T - https://127.0.0.1:\$PORT/v1beta1/upload"
}

bytes=$(stat -c %s "$dir/disk.raw")
echo "| workload | ours s | CDI shape s | ours GB/s | CDI shape GB/s | speed-up | ours RSS MiB | CDI shape RSS MiB (largest process) |"
echo "|---|---|---|---|---|---|---|---|"
for w in $only; do
  case $w in
    fs) a=$(ours filesystem "$work/src"); b="cd $work/src && tar cS disk.img | $framer | $(curl_post filesystem-clone)" ;;
    block) a=$(ours block "$loop"); b="cat $loop | $framer | $(curl_post blockdevice-clone)" ;;
    *) bench_die "unknown workload $w" ;;
  esac
  ta=() tb=() ra=() rb=()
  for ((r = 1; r <= reps; r++)); do
    bench_log "$w: ours, run $r"
    read -r t rss <<< "$(run_once "$a")"; ta+=("$t"); ra+=("$rss")
    cmp -s "$dir/disk.raw" "$work/data/disk.img" || bench_die "$w: ours: the target differs from the source"
    bench_log "$w: CDI shape, run $r"
    read -r t rss <<< "$(run_once "$b")"; tb+=("$t"); rb+=("$rss")
    cmp -s "$dir/disk.raw" "$work/data/disk.img" || bench_die "$w: CDI shape: the target differs from the source"
  done
  ma=$(bench_median "${ta[@]}") mb=$(bench_median "${tb[@]}")
  echo "| $w | $ma | $mb | $(bench_gbps "$bytes" "$ma") | $(bench_gbps "$bytes" "$mb") | $(bench_ratio "$ma" "$mb") | $(bench_mib "$(bench_median "${ra[@]}")") | $(bench_mib "$(bench_median "${rb[@]}")") |"
done
