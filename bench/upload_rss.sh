#!/usr/bin/env bash
# Upload-server memory bench: a 4 GiB raw disk (and the same disk as qcow2) uploaded with curl over
# mTLS to a freshly started cdi-uploadserver; reports the server's peak RSS (VmHWM sampled from
# /proc every 100 ms, and GNU time's maximum RSS) and the wall time of each upload. RSS is the
# point (security.md A11: under 128 MiB whatever the image size); the wall time is indicative only.
# Prints a markdown table on stdout; progress goes to stderr.
#
# Environment:
#   BENCH_DIR     inputs (built once, reused) and outputs (default /var/tmp/cdi-bench)
#   BENCH_SIZE    virtual size of the disk (default 4G; binary units)
#   BENCH_SERVER  the cdi-uploadserver binary (default <repo>/build-bench/server/cdi-uploadserver,
#                 built with -DCMAKE_BUILD_TYPE=Release)
#   BENCH_ONLY    subset of: raw qcow2 (default both)
# Needs: curl, openssl, qemu-img, /usr/bin/python3; /usr/bin/time (GNU) is used when installed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

size=$(bench_bytes "${BENCH_SIZE:-4G}")
dir=${BENCH_DIR:-/var/tmp/cdi-bench}
server=${BENCH_SERVER:-$repo/build-bench/server/cdi-uploadserver}
only=${BENCH_ONLY:-raw qcow2}
[[ -x $server ]] || bench_die "no server binary at $server (build cdi-uploadserver in Release mode)"

work="$dir/upload-rss"
img="$dir/upload-rss-$size.raw"
mkdir -p "$work"

# The disk: 1 MiB of seeded pseudo-random data every 8 MiB, zeros (holes) between: deterministic,
# sparse on disk, one eighth data. Built once and reused.
if [[ ! -f $img.done ]]; then
  bench_log "building $img (1 MiB of data every 8 MiB)"
  rm -f "$img" "$img.qcow2"
  /usr/bin/python3 - "$img" "$size" <<'EOF'
import random, sys
path, size = sys.argv[1], int(sys.argv[2])
rng = random.Random(20261127)
with open(path, "wb") as f:
    f.truncate(size)
    for off in range(0, size, 8 << 20):
        f.seek(off)
        f.write(rng.randbytes(1 << 20))
EOF
  qemu-img convert -f raw -O qcow2 "$img" "$img.qcow2"
  touch "$img.done"
else
  bench_log "reusing $img"
fi

# A throwaway PKI: CA, server cert for 127.0.0.1, client cert with CDI's client name.
pki="$work/pki"
client_cn=client.upload-server.cdi.kubevirt.io
rm -rf "$pki"
bash "$repo/scripts/make-upload-pki.sh" "$pki" || bench_die "PKI generation failed"

# One upload of $1 (label $2): prints a table row. curl -T streams the file (--data-binary @file
# would read all of it into memory first).
run_one() {
  local file=$1 label=$2
  rm -rf "$work/data" "$work/scratch" "$work/termination-log" && mkdir -p "$work/data" "$work/scratch"
  local log="$work/server-$label.log" timelog="$work/time-$label.log"
  local -a timecmd=()
  [[ -x /usr/bin/time ]] && timecmd=(/usr/bin/time -v -o "$timelog")
  env -i PATH="$PATH" TLS_KEY_FILE="$pki/tls.key" TLS_CERT_FILE="$pki/tls.crt" \
    CLIENT_CERT_FILE="$pki/ca.crt" CLIENT_NAME="$client_cn" LISTEN_ADDRESS=127.0.0.1 LISTEN_PORT=0 \
    CDI_DATA_DIR="$work/data" CDI_SCRATCH_DIR="$work/scratch" CDI_TERMINATION_LOG="$work/termination-log" \
    "${timecmd[@]}" "$server" > "$log" 2>&1 &
  local wrapper=$! pid="" port=""
  # On failure: stop the server (the child of /usr/bin/time when that wraps it) and the wrapper.
  trap 'pkill -P "$wrapper" 2>/dev/null; kill "$wrapper" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$log" | head -1)
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || bench_die "server did not start: $(cat "$log")"
  pid=$(pgrep -n -f -x "$server" -P "$wrapper" || true)
  [[ -n $pid ]] || pid=$wrapper  # no /usr/bin/time: the server is the child itself
  # VmHWM sampler: the last value read before the process exits.
  local hwm_file="$work/hwm-$label"
  ( peak=0
    while v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [[ -n $v ]]; do
      ((v > peak)) && peak=$v && echo "$peak" > "$hwm_file"
      sleep 0.1
    done ) &
  local sampler=$!
  bench_log "$label: uploading $(numfmt --to=iec "$(stat -c %s "$file")") to port $port"
  local t0 t1 code
  t0=$(date +%s.%N)
  code=$(curl -sS --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" \
    -o /dev/null -w '%{http_code}' -X POST -T "$file" "https://127.0.0.1:$port/v1beta1/upload") || true
  t1=$(date +%s.%N)
  wait "$wrapper" || true
  trap - EXIT
  wait "$sampler" || true
  [[ $code == 200 ]] || bench_die "$label: upload answered $code: $(tail -5 "$log")"
  local hwm time_rss="-"
  hwm=$(cat "$hwm_file" 2>/dev/null || echo 0)
  [[ -f $timelog ]] && time_rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$timelog")
  cmp -s <(head -c "$size" "$work/data/disk.img") "$img" || bench_die "$label: target differs from the image"
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$(numfmt --to=iec "$(stat -c %s "$file")")" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')" "$(awk -v k="$hwm" 'BEGIN {printf "%.1f", k / 1024}')" \
    "$time_rss"
  rm -rf "$work/data" "$work/scratch"
}

echo "| upload | bytes sent | wall s | peak VmHWM MiB (sampled) | max RSS MiB (GNU time) |"
echo "|---|---|---|---|---|"
for w in $only; do
  case $w in
    raw) run_one "$img" raw ;;
    qcow2) run_one "$img.qcow2" qcow2 ;;
    *) bench_die "unknown workload $w" ;;
  esac
done
