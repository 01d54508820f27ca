#!/usr/bin/env bash
# Physical limits (issue 6), measured in the same run and on the same filesystem as the benches'
# targets ($BENCH_DIR): what the storage, the decompressors, TLS over loopback and qemu-img can do
# alone, so each workload's figure can be read against the ceiling of its bottleneck stage.
# Prints a markdown table on stdout (and CSV rows to $BENCH_LIMITS_CSV when set); progress on stderr.
#
# Storage limits run cold (sync + drop_caches first); the CPU-bound ones (decompressors, TLS,
# qemu-img) run with their input in the page cache, so they measure the tool and not the disk.
# GB/s = bytes moved / time (10^9 bytes/s): the file size for storage reads, the virtual size for
# everything that produces the disk (decompressors, TLS download of disk.raw, qemu-img).
#
# Environment:
#   BENCH_SIZE, BENCH_DIR, REPS  as bench/run.sh (inputs shared with it); median of REPS runs each
#   BENCH_ONLY  subset of: write read decompress tls qemu-img (default all)
# Needs root (drop_caches, losetup); dd, gzip, pigz, xz, zstd, qemu-img, nginx, curl, openssl,
# losetup; fio when installed (the device's ceiling with several writes in flight).
# shellcheck disable=SC2016
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

size=$(bench_bytes "${BENCH_SIZE:-2G}")
dir=${BENCH_DIR:-/var/tmp/cdi-bench}
reps=${REPS:-3}
only=${BENCH_ONLY:-write read decompress tls qemu-img}

[[ $(id -u) -eq 0 ]] || bench_die "run as root: storage limits start with drop_caches"
for t in dd gzip pigz xz zstd qemu-img nginx curl openssl losetup; do
  command -v "$t" > /dev/null || bench_die "missing tool: $t (scripts/setup.sh installs it)"
done

bench_build_inputs "$dir" "$size"
work="$dir/out-limits"
out="$work/target/limit.bin"
export BENCH_CMD_LOG="$work/commands.log"
rm -rf "$work"
mkdir -p "$work/target" "$work/nginx"
: > "$BENCH_CMD_LOG"
loop=""
nginx_pid=""
cleanup() {
  [[ -n $nginx_pid ]] && { kill "$nginx_pid" 2> /dev/null || true; }
  [[ -n $loop ]] && { losetup -d "$loop" 2> /dev/null || true; }
  rm -rf "$work/target" "$work/loop.img"
}
trap cleanup EXIT

# One limit: REPS runs of a shell command line, the target file removed before each; "cold" drops
# the page cache first, "warm:FILE" reads FILE into it first (untimed). Adds a row (bench_limit_row).
limit() { # name bytes cold|warm:FILE command
  local name=$1 bytes=$2 mode=$3 cmd=$4 times=() peak=0 r t rss rc
  for ((r = 0; r < reps; r++)); do
    rm -f "$out"
    if [[ $mode == cold ]]; then
      bench_drop_caches
      sleep 1 # /var/tmp has online discard here: let the previous output's discards finish
    else
      cat "${mode#warm:}" > /dev/null
      sync
    fi
    bench_log "limit rep $((r + 1))/$reps: $name"
    read -r t rss rc <<< "$(bench_timed bash -c "$cmd")"
    [[ $rc == 0 ]] || bench_die "exit status $rc from: $cmd (see $BENCH_CMD_LOG)"
    times+=("$t")
    rss=${rss#\~}
    ((rss > peak)) && peak=$rss
  done
  rm -f "$out"
  bench_limit_row "$name" "$(bench_median "${times[@]}")" "$bytes" "$peak"
}

mib4=$((4 << 20))
BENCH_ROWS=()
for w in $only; do
  case $w in
    write)
      # A file target, as ours and the file peers write it, then the loop device of the block benches.
      limit "write, O_DIRECT, dd bs=4M" "$size" cold \
        "dd if=/dev/zero of=$out bs=$mib4 count=$size iflag=count_bytes oflag=direct conv=fsync status=none"
      limit "write, buffered + fsync, dd bs=4M" "$size" cold \
        "dd if=/dev/zero of=$out bs=$mib4 count=$size iflag=count_bytes conv=fsync status=none"
      if command -v fio > /dev/null; then
        limit "write, O_DIRECT, fio bs=4M iodepth=8" "$size" cold \
          "fio --name=write --filename=$out --rw=write --bs=4M --size=$size --direct=1 --ioengine=libaio --iodepth=8 --fallocate=none --end_fsync=1"
      fi
      truncate -s "$size" "$work/loop.img"
      loop=$(losetup --find --show "$work/loop.img")
      limit "write loop device, O_DIRECT, dd bs=4M" "$size" cold \
        "dd if=/dev/zero of=$loop bs=$mib4 count=$size iflag=count_bytes oflag=direct conv=fsync status=none"
      losetup -d "$loop"
      loop=""
      rm -f "$work/loop.img"
      ;;
    read)
      # A fully allocated file of the disk's size, written once (untimed), read cold.
      dd if=/dev/zero of="$work/read.bin" bs=$mib4 count="$size" iflag=count_bytes conv=fsync status=none
      limit "read, buffered, dd bs=4M" "$size" cold "dd if=$work/read.bin of=/dev/null bs=$mib4 status=none"
      limit "read, O_DIRECT, dd bs=4M" "$size" cold "dd if=$work/read.bin of=/dev/null bs=$mib4 iflag=direct status=none"
      rm -f "$work/read.bin"
      limit "read disk.qcow2 (allocated), cat" "$(stat -c %s "$dir/disk.qcow2")" cold "cat $dir/disk.qcow2 > /dev/null"
      ;;
    decompress)
      limit "gzip -dc disk.raw.gz > /dev/null" "$size" "warm:$dir/disk.raw.gz" "gzip -dc $dir/disk.raw.gz > /dev/null"
      limit "pigz -dc disk.raw.gz > /dev/null" "$size" "warm:$dir/disk.raw.gz" "pigz -dc $dir/disk.raw.gz > /dev/null"
      limit "xz -dc -T0 disk.raw.xz > /dev/null" "$size" "warm:$dir/disk.raw.xz" "xz -dc -T0 $dir/disk.raw.xz > /dev/null"
      limit "zstd -dc disk.raw.zst > /dev/null" "$size" "warm:$dir/disk.raw.zst" "zstd -dc $dir/disk.raw.zst > /dev/null"
      ;;
    tls)
      # nginx serves BENCH_DIR over HTTPS with a verified client certificate (as the upload benches
      # use TLS) and over plain HTTP; curl downloads disk.raw to /dev/null. disk.raw is sparse and
      # cached: the file costs nothing, the figure is the transport's.
      bash "$repo/scripts/make-upload-pki.sh" "$work/tls"
      tls_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      http_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      cat > "$work/nginx/nginx.conf" << EOF
daemon off; master_process off; worker_processes 1; pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 64; }
http {
  access_log off; sendfile on; default_type application/octet-stream;
  server { listen 127.0.0.1:$http_port; root $dir; }
  server {
    listen 127.0.0.1:$tls_port ssl; root $dir;
    ssl_certificate $work/tls/tls.crt; ssl_certificate_key $work/tls/tls.key;
    ssl_client_certificate $work/tls/ca.crt; ssl_verify_client on; ssl_protocols TLSv1.2 TLSv1.3;
  }
}
EOF
      nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
      nginx_pid=$!
      for _ in $(seq 100); do
        curl -sf -o /dev/null -I "http://127.0.0.1:$http_port/disk.raw" && break
        sleep 0.05
      done
      tls_curl="curl -sSf -o /dev/null --cacert $work/tls/ca.crt --cert $work/tls/client.crt --key $work/tls/client.key"
      limit "HTTPS (mTLS) loopback, nginx -> curl" "$size" "warm:$dir/disk.raw" \
        "$tls_curl https://127.0.0.1:$tls_port/disk.raw"
      limit "HTTP loopback, nginx -> curl" "$size" "warm:$dir/disk.raw" \
        "curl -sSf -o /dev/null http://127.0.0.1:$http_port/disk.raw"
      kill "$nginx_pid"
      wait "$nginx_pid" || true
      nginx_pid=""
      ;;
    qemu-img)
      # qemu-img's own ceiling on this qcow2: input cached, output a fresh file, with CDI's flags
      # (then fsync) and with the fastest ones.
      limit "qemu-img convert -t writeback + sync (CDI)" "$size" "warm:$dir/disk.qcow2" \
        "qemu-img convert -t writeback -O raw $dir/disk.qcow2 $out && sync $out"
      limit "qemu-img convert -t none -W -m 16" "$size" "warm:$dir/disk.qcow2" \
        "qemu-img convert -f qcow2 -O raw -t none -W -m 16 $dir/disk.qcow2 $out"
      ;;
    *) bench_die "unknown limit group $w" ;;
  esac
done

echo "Physical limits on $(df --output=source,fstype "$dir" | tail -n 1 | tr -s ' ' | sed 's/ / (/;s/$/)/') under $dir; virtual size $size bytes."
echo "Median of $reps runs; storage cold (page cache dropped), decompressors, TLS and qemu-img with their input cached."
echo "GB/s = bytes / time (10^9 bytes): the file's size for reads of it, the virtual size otherwise."
echo
echo "| limit | s | GB/s | peak RSS MiB |"
echo "|---|---|---|---|"
printf '%s\n' "${BENCH_ROWS[@]}"
