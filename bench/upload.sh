#!/usr/bin/env bash
# Upload bench (issue 3): curl uploads the bench disk over HTTPS with mutual TLS, as CDI's upload
# proxy does, to cdi-uploadserver and to nginx (TLS + client certificate, WebDAV PUT writing the
# body to a file), side by side in one run. nginx only stores the bytes, so for the compressed and
# converted forms its time includes what a user would run next (xz -dc, qemu-img convert); every
# runner ends with the target synced, as ours fsyncs before answering 200.
# With BENCH_TARGET=block the target is a loop device instead of a file (see below).
# Prints a markdown table on stdout; progress goes to stderr.
#
# Environment:
#   BENCH_SIZE    virtual size of the test disk (default 2G)
#   BENCH_DIR     inputs (built once by bench/lib.sh, shared with run.sh) and outputs (/var/tmp/cdi-bench)
#   REPS          timed runs of each command (default 3); the table shows medians
#   BENCH_SERVER  the cdi-uploadserver binary (default <repo>/build-bench/server/cdi-uploadserver)
#   BENCH_ONLY    subset of: raw xz gz qcow2 flood (default all; flood: ours under slowloris and a
#                 connection flood against ours unloaded)
#   BENCH_TARGET  file (default): the target is $BENCH_DIR/out-upload/target/disk.img;
#                 block: a loop device over a file of the disk's size under $BENCH_DIR (detached on
#                 exit), given to ours as DESTINATION (as CDI does for block PVCs); nginx stores the
#                 upload in a file, then `dd oflag=direct conv=fsync` (raw, after xz -dc / gzip -dc)
#                 or `qemu-img convert -n` (qcow2) writes the device. Before every run (timed or
#                 not) the device is filled with a non-zero pattern (untimed), so every runner starts
#                 from the same allocated, dirty device and zeros it must write are checked by cmp.
#   BENCH_ORIGIN_TMPFS=1  curl sends copies of the inputs from /dev/shm, which drop_caches leaves in
#                 memory: virtctl reads the image on the user's machine, never on the PVC's disk, and
#                 with one bench disk a cold read of the input competes with every runner's writes
#                 (see bench/http_import.sh). Both runners read the same copy.
# Needs root (drops the page cache before every timed run; losetup for the block target).
# shellcheck disable=SC2016
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

size=$(bench_bytes "${BENCH_SIZE:-2G}")
dir=${BENCH_DIR:-/var/tmp/cdi-bench}
reps=${REPS:-3}
server=${BENCH_SERVER:-$repo/build-bench/server/cdi-uploadserver}
only=${BENCH_ONLY:-raw xz gz qcow2 flood}
target=${BENCH_TARGET:-file}
[[ $target == file || $target == block ]] || bench_die "BENCH_TARGET is file or block, not $target"

[[ $(id -u) -eq 0 ]] || bench_die "run as root: every timed run starts with drop_caches"
[[ -x $server ]] || bench_die "no server at $server (cmake --build build-bench --target cdi-uploadserver)"
for t in curl nginx openssl xz gzip qemu-img cmp; do
  command -v "$t" > /dev/null || bench_die "missing tool: $t (scripts/setup.sh installs it)"
done

bench_build_inputs "$dir" "$size"
ref="$dir/disk.raw"
work="$dir/out-upload"
[[ $target == block ]] && work+=-block
export BENCH_CMD_LOG="$work/commands.log"
export TARGET_DIR="$work/target" SCRATCH_DIR="$work/scratch" TLS_DIR="$work/tls" NGINX_DIR="$work/nginx"
export SERVER=$server IMAGE_SIZE=$size
rm -rf "$work"
mkdir -p "$work" "$TLS_DIR" "$NGINX_DIR"
: > "$BENCH_CMD_LOG"

# Everything this script sets up (the loop device, the tmpfs copies) goes at exit, whatever has
# been set up by then.
export DEV=""
origin=$dir
cleanup() {
  if [[ -n $DEV ]]; then
    losetup -d "$DEV" 2> /dev/null || true
    rm -f "$work/block.img"
  fi
  [[ $origin == "$dir" ]] || rm -rf "$origin"
}
trap cleanup EXIT

# The block target: a loop device exactly the disk's size, so cmp compares the whole device.
out=$TARGET_DIR/disk.img
if [[ $target == block ]]; then
  command -v losetup > /dev/null || bench_die "missing tool: losetup (scripts/setup.sh installs util-linux)"
  truncate -s "$size" "$work/block.img"
  DEV=$(losetup --find --show "$work/block.img") || bench_die "losetup failed"
  out=$DEV
  bench_log "block target: $DEV over $work/block.img"
fi

# Certificates: a CA, the server's (127.0.0.1) and the upload proxy's client certificate.
bash "$repo/scripts/make-upload-pki.sh" "$TLS_DIR"

# The upload itself, the same for both servers: a streamed body (-T, never read into memory).
upload() { # url method
  curl -sS -o /dev/null -w '%{http_code}' --cacert "$TLS_DIR/ca.crt" --cert "$TLS_DIR/client.crt" \
    --key "$TLS_DIR/client.key" -X "$2" -T "$IN" "$1"
}
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Ours: a fresh cdi-uploadserver per upload (the pod's life); done when it has answered 200 and exited.
# `ours flood`: the same while bench/flood_client.py holds 256 slowloris TLS connections, 768 idle
# ones and 50 anonymous handshakes a second against the server (issue 17's speed floor: the upload
# keeps >= 80 % of its unloaded speed; the flood workload's ours/peer column is that fraction).
# The previous run's log is removed first: the background shell truncates it only when it gets to
# run, and reading the old "listening on" line sent curl to a closed port while we waited forever.
ours() {
  ulimit -n 8192  # the flood's 1,024 held connections; a pod's limit is far higher
  rm -f "$TARGET_DIR/../server.log"
  env -i PATH="$PATH" TLS_KEY_FILE="$TLS_DIR/tls.key" TLS_CERT_FILE="$TLS_DIR/tls.crt" \
    CLIENT_CERT_FILE="$TLS_DIR/ca.crt" CLIENT_NAME=client.upload-server.cdi.kubevirt.io \
    UPLOAD_IMAGE_SIZE="$IMAGE_SIZE" FILESYSTEM_OVERHEAD=0 LISTEN_ADDRESS=127.0.0.1 LISTEN_PORT=0 \
    CDI_DATA_DIR="$TARGET_DIR" CDI_SCRATCH_DIR="$SCRATCH_DIR" CDI_TERMINATION_LOG="$TARGET_DIR/../termination-log" \
    ${DEV:+DESTINATION="$DEV"} DEADLINE="$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" "$SERVER" 2> "$TARGET_DIR/../server.log" &
  local pid=$! port=
  for _ in $(seq 200); do
    port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)$/\1/p' "$TARGET_DIR/../server.log" 2> /dev/null | head -n 1)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { kill "$pid"; return 1; }
  local flood_pid=
  if [[ ${1:-} == flood ]]; then  # the attacker holds every connection slot before the upload starts
    rm -f "$FLOOD_DIR/ready"
    python3 "$FLOOD_CLIENT" 127.0.0.1 "$port" "$TLS_DIR/ca.crt" "$FLOOD_DIR/ready" >> "$FLOOD_DIR/counts.jsonl" 2>> "$FLOOD_DIR/client.log" &
    flood_pid=$!
    for _ in $(seq 600); do [[ -e $FLOOD_DIR/ready ]] && break; sleep 0.05; done
    [[ -e $FLOOD_DIR/ready ]] || { kill "$flood_pid" "$pid"; return 1; }
  fi
  local code
  code=$(upload "https://127.0.0.1:$port/v1beta1/upload" POST) || true
  if [[ -n $flood_pid ]]; then
    kill "$flood_pid"
    wait "$flood_pid" || true
  fi
  if [[ $code != 200 ]]; then  # the server would wait for an upload until its deadline
    kill "$pid" 2> /dev/null
    wait "$pid" || true
    return 1
  fi
  wait "$pid"
}

# nginx: TLS with a verified client certificate, WebDAV PUT into the target directory (the body is
# written to a temporary file there and renamed), then the step a user would run on the stored file.
nginx_put() { # post-step: raw | xz | gz | qcow2
  local port conf=$NGINX_DIR/nginx.conf
  port=$(free_port)
  cat > "$conf" << EOF
daemon off; master_process off; worker_processes 1; pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log;
events { worker_connections 64; }
http {
  access_log off; client_max_body_size 0; client_body_temp_path $TARGET_DIR/.tmp;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $TLS_DIR/tls.crt; ssl_certificate_key $TLS_DIR/tls.key;
    ssl_client_certificate $TLS_DIR/ca.crt; ssl_verify_client on; ssl_protocols TLSv1.2 TLSv1.3;
    root $TARGET_DIR; dav_methods PUT; create_full_put_path on;
  }
}
EOF
  mkdir -p "$TARGET_DIR/.tmp"
  nginx -p "$NGINX_DIR" -c "$conf" &
  local pid=$!
  for _ in $(seq 200); do
    (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break
    sleep 0.05
  done
  local code
  code=$(upload "https://127.0.0.1:$port/upload" PUT)
  kill "$pid"
  wait "$pid" || true
  [[ $code == 201 || $code == 204 ]] || return 1
  local up=$TARGET_DIR/upload out=$TARGET_DIR/disk.img
  if [[ -n $DEV ]]; then
    # dd: whole 4 MiB blocks from the pipe (iflag=fullblock: O_DIRECT refuses short writes).
    local -
    set -o pipefail
    local dd_dev="dd of=$DEV bs=4M iflag=fullblock oflag=direct conv=fsync status=none"
    case $1 in
      raw) $dd_dev if="$up" ;;
      xz) xz -dc -T0 "$up" | $dd_dev ;;
      gz) gzip -dc "$up" | $dd_dev ;;
      qcow2) qemu-img convert -n -f qcow2 -O raw -t writeback "$up" "$DEV" ;;
    esac || return 1
    rm "$up"
    sync "$DEV"
    return 0
  fi
  case $1 in
    raw) mv "$up" "$out" ;;
    xz) xz -dc -T0 "$up" > "$out" && rm "$up" ;;
    gz) gzip -dc "$up" > "$out" && rm "$up" ;;
    qcow2) qemu-img convert -f qcow2 -O raw -t writeback "$up" "$out" && rm "$up" ;;
  esac
  sync "$out"
}
export FLOOD_CLIENT=$here/flood_client.py FLOOD_DIR=$work/flood
mkdir -p "$FLOOD_DIR"
export -f upload free_port ours nginx_put

# The block target's run: the device filled with a non-zero pattern (untimed), then one cold run.
run_block() {
  { yes cdi-bench-fill || true; } | dd of="$DEV" bs=4M count="$IMAGE_SIZE" iflag=count_bytes,fullblock oflag=direct status=none ||
    bench_die "could not fill $DEV"
  bench_run_cold "$1"
}
run=bench_run_cold
[[ $target == block ]] && run=run_block

declare -A input
input[raw]=disk.raw
input[xz]=disk.raw.xz
input[gz]=disk.raw.gz
input[qcow2]=disk.qcow2
input[flood]=disk.raw
if [[ ${BENCH_ORIGIN_TMPFS:-} == 1 ]]; then
  origin=$(mktemp -d /dev/shm/cdi-bench-origin.XXXXXX)
  bench_log "copying the inputs to $origin (tmpfs)"
  for w in $only; do
    f=${input[$w]:-}
    [[ -n $f && ! -e $origin/$f ]] && cp "$dir/$f" "$origin/"
  done
fi

BENCH_ROWS=()
for w in $only; do
  [[ -n ${input[$w]:-} ]] || bench_die "unknown workload $w"
  export IN=$origin/${input[$w]}
  cat "$IN" > /dev/null # the host's cache: see run.sh
  if [[ $w == flood ]]; then  # "peer" is ours unloaded: ours/peer is the fraction of its speed kept
    bench_compare "raw under flood" "$size" "$reps" "$ref" "$out" "$run" "ours flood" ours
    continue
  fi
  bench_compare "$w" "$size" "$reps" "$ref" "$out" "$run" ours "nginx_put $w"
done
if [[ -s $FLOOD_DIR/counts.jsonl ]]; then
  bench_log "flood counts per upload (bench/flood_client.py): $(tr '\n' ' ' < "$FLOOD_DIR/counts.jsonl")"
fi
rm -rf "$TARGET_DIR" "$SCRATCH_DIR"

[[ $origin == "$dir" ]] || echo "Inputs sent from /dev/shm (BENCH_ORIGIN_TMPFS=1)."
echo "Target: $target${DEV:+ ($DEV, a loop device over $work/block.img)}. Virtual size $size bytes; median of $reps cold runs each; GB/s = virtual size / time (10^9 bytes)."
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs."
echo
echo "| upload ($target) | peer | ours s | peer s | ours GB/s | peer GB/s | ours/peer | ours peak RSS MiB | peer peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${BENCH_ROWS[@]}"
