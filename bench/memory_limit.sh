#!/usr/bin/env bash
# Memory soak under CDI's limit (issue 14): a qcow2 of 8 GiB virtual size holding about 4 GiB of
# pseudo-random data (64 MiB every 128 MiB) is decoded as it arrives, with no scratch, by
# cdi-importer and cdi-uploadserver, each inside a cgroup-v1 memory cgroup limited to 600 MiB (CDI's
# default pod limit): (a) HTTP import from nginx on 127.0.0.1, (b) an upload with curl over mutual
# TLS to cdi-uploadserver (sync /v1beta1/upload), (c) a containerdisk import from docker-registry on
# 127.0.0.1. Only the importer / upload server goes into the cgroup (not nginx, curl or the
# registry). For each: exit / HTTP status, wall time, the cgroup's memory.max_usage_in_bytes and
# memory.failcnt, its rss and cache (memory.stat, sampled every 0.2 s), the process's peak RSS
# (GNU time %M), memory.oom_control's oom_kill (must be 0), the target's sha256 against the raw
# image's, the scratch directory (must stay empty). Markdown table on stdout, progress on stderr;
# exit status 1 when a run fails, is OOM-killed or writes a wrong target.
# Run by hand as root, not in CI (minutes, 8 GiB targets): sudo bench/memory_limit.sh
#
# Environment:
#   MEMLIMIT_SIZE      virtual size of the qcow2 (default 8G; binary units)
#   MEMLIMIT_STRIDE    one run of data at the start of every stride (default 128M; binary units):
#                      64 MiB every 320M of a 100G disk is the issue-14 soak's 20 GiB of data
#   MEMLIMIT_LAYOUT    spread (default: the data above, laid out by qemu-img convert) or shuffled:
#                      every 4 KiB cluster of the disk written once by qemu-io in shuffled guest
#                      order, as a guest writing over time leaves a qcow2 (its L2 tables early, the
#                      data each names scattered after them: the decoder's most claims at once)
#   MEMLIMIT_LIMIT     memory.limit_in_bytes of the cgroup (default 600M)
#   MEMLIMIT_DIR       inputs (built once, reused) and outputs (default /var/tmp/cdi-bench-memlimit)
#   MEMLIMIT_IMPORTER  default <repo>/build/importer/cdi-importer
#   MEMLIMIT_SERVER    default <repo>/build/server/cdi-uploadserver
#   MEMLIMIT_ONLY      subset of: http upload registry (default all, in that order)
#   MEMLIMIT_GZIP_LEVEL  gzip level of the containerdisk's layer (default 6, as docker and buildah)
#   MEMLIMIT_TARGET_FS   when set (a size, e.g. 120G): the target directory is on a fresh ext4 of that
#                      size, a sparse file on a loop device, so a disk larger than this machine's free
#                      space has a volume whose capacity (CDI's: the free space) holds it
# Needs the cgroup-v1 memory controller at /sys/fs/cgroup/memory, nginx, docker-registry, skopeo,
# curl, jq, openssl, qemu-img, /usr/bin/python3, GNU time (/usr/bin/time).
# shellcheck disable=SC2016
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

size=$(bench_bytes "${MEMLIMIT_SIZE:-8G}")
stride=$(bench_bytes "${MEMLIMIT_STRIDE:-128M}")
limit=$(bench_bytes "${MEMLIMIT_LIMIT:-600M}")
dir=${MEMLIMIT_DIR:-/var/tmp/cdi-bench-memlimit}
importer=${MEMLIMIT_IMPORTER:-$repo/build/importer/cdi-importer}
server=${MEMLIMIT_SERVER:-$repo/build/server/cdi-uploadserver}
only=${MEMLIMIT_ONLY:-http upload registry}
level=${MEMLIMIT_GZIP_LEVEL:-6}
memcg=/sys/fs/cgroup/memory

[[ $(id -u) -eq 0 ]] || bench_die "run as root: cgroups, drop_caches"
[[ -f $memcg/cgroup.procs && -f $memcg/memory.limit_in_bytes ]] ||
  bench_die "no cgroup-v1 memory controller at $memcg"
[[ -x $importer ]] || bench_die "no importer at $importer (cmake --build build --target cdi-importer)"
[[ -x $server ]] || bench_die "no upload server at $server (cmake --build build --target cdi-uploadserver)"
for t in nginx docker-registry skopeo curl jq openssl qemu-img sha256sum /usr/bin/time /usr/bin/python3; do
  command -v "$t" > /dev/null || bench_die "missing tool: $t (scripts/setup.sh installs it)"
done

# The input, once per size and layout (shuffled: below, as described above). spread: 64 MiB of AES-CTR keystream (fixed key, IV = chunk index) at the start
# of every stride (128 MiB) of a sparse raw disk, zeros between; its sha256; then `qemu-img convert -O qcow2`
# and the raw goes (the targets are checked against the sha256, so no two 8 GiB files are kept).
layout=${MEMLIMIT_LAYOUT:-spread}
[[ $layout == spread || $layout == shuffled ]] || bench_die "MEMLIMIT_LAYOUT is spread or shuffled, not $layout"
name=spread-$size${MEMLIMIT_STRIDE:+-every-$stride}
[[ $layout == shuffled ]] && name=shuffled-$size
qcow2=$dir/$name.qcow2
sumfile=$dir/$name.raw.sha256
if [[ $layout == shuffled && ! -f $dir/$name.done ]]; then
  mkdir -p "$dir"
  rm -f "$qcow2" "$sumfile" "$dir/$name.raw"
  bench_log "building a $size-byte qcow2 with 4 KiB clusters, every cluster written in shuffled order (qemu-io)"
  qemu-img create -q -f qcow2 -o cluster_size=4k "$qcow2" "$size"
  # %.0f: awk's %d stops at 2^31. A fixed random source, so every run builds the same image.
  seq 0 $((size / 4096 - 1)) | shuf --random-source=<(yes) |
    awk '{ printf "write -P %d %.0f 4k\n", $1 % 250 + 1, $1 * 4096 }' |
    qemu-io -t unsafe -f qcow2 "$qcow2" > /dev/null
  bench_log "sha256 of its raw form"
  qemu-img convert -f qcow2 -O raw "$qcow2" "$dir/$name.raw"
  sha256sum "$dir/$name.raw" | cut -d' ' -f1 > "$sumfile"
  rm -f "$dir/$name.raw"
  sync
  touch "$dir/$name.done"
elif [[ ! -f $dir/$name.done ]]; then
  mkdir -p "$dir"
  rm -f "$qcow2" "$sumfile" "$dir/$name.raw"
  bench_log "building a $size-byte raw disk, 64 MiB of random data every $stride bytes"
  raw=$dir/$name.raw
  truncate -s "$size" "$raw"
  chunk=$stride data=$((64 << 20))
  for ((i = 0; i * chunk < size; i++)); do
    n=$data
    ((i * chunk + n > size)) && n=$((size - i * chunk))
    head -c "$n" /dev/zero |
      openssl enc -aes-128-ctr -nosalt -K 6364692d6d656d6c696d69742d696e70 -iv "$(printf '%032x' "$i")" |
      dd of="$raw" bs=1M seek=$((i * chunk >> 20)) conv=notrunc iflag=fullblock status=none
  done
  bench_log "sha256 of the raw disk"
  sha256sum "$raw" | cut -d' ' -f1 > "$sumfile"
  bench_log "converting: qemu-img convert -O qcow2"
  qemu-img convert -f raw -O qcow2 "$raw" "$qcow2"
  rm -f "$raw"
  sync
  touch "$dir/$name.done"
else
  bench_log "reusing $qcow2"
fi
ref_sum=$(cat "$sumfile")

work=$dir/out-memlimit
target=$work/target scratch=$work/scratch
cg=$memcg/cdi-memlimit-$$
rm -rf "$work"
mkdir -p "$work"
pids_to_stop=() job_pid="" target_loop=""
if [[ -n ${MEMLIMIT_TARGET_FS:-} ]]; then
  truncate -s "$(bench_bytes "$MEMLIMIT_TARGET_FS")" "$work/target-fs.img"
  mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 "$work/target-fs.img"
  target_loop=$(losetup --find --show "$work/target-fs.img")
  mkdir -p "$work/target-fs"
  mount "$target_loop" "$work/target-fs"
  target=$work/target-fs/target
fi

# Stops what is left (the job, nginx, the registry: all started here, by pid), removes the cgroup
# once empty and the targets.
cleanup() {
  local p
  if [[ -d $cg ]]; then
    while read -r p; do kill -9 "$p" 2> /dev/null || true; done < "$cg/cgroup.procs"
  fi
  [[ -z $job_pid ]] || kill "$job_pid" 2> /dev/null || true
  for p in "${pids_to_stop[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  cgroup_remove
  rm -rf "$target" "$scratch"
  if [[ -n $target_loop ]]; then
    umount "$work/target-fs" || true
    losetup -d "$target_loop" || true
    rm -f "$work/target-fs.img"
  fi
}
cgroup_remove() {
  [[ -d $cg ]] || return 0
  for _ in $(seq 100); do
    [[ -z $(cat "$cg/cgroup.procs") ]] && rmdir "$cg" 2> /dev/null && return 0
    sleep 0.1
  done
  bench_log "warning: could not remove $cg"
}
trap cleanup EXIT

# A fresh cgroup for each job, so every counter starts at zero.
cgroup_create() {
  cgroup_remove
  mkdir "$cg"
  echo "$limit" > "$cg/memory.limit_in_bytes"
  [[ $(cat "$cg/memory.limit_in_bytes") == "$limit" ]] ||
    bench_die "memory.limit_in_bytes of $cg reads $(cat "$cg/memory.limit_in_bytes"), not $limit"
  grep -q '^oom_kill_disable 0' "$cg/memory.oom_control" || bench_die "OOM killer disabled in $cg"
  grep -q '^oom_kill ' "$cg/memory.oom_control" || bench_die "no oom_kill counter in $cg/memory.oom_control"
}

# The largest rss and cache of the cgroup (memory.stat), sampled every 0.2 s into file $1 until
# file $2 exists.
cgroup_sampler() {
  local out=$1 stop=$2 rss=0 cache=0 r c
  while [[ ! -e $stop && -d $cg ]]; do
    read -r r c < <(awk '$1 == "rss" { r = $2 } $1 == "cache" { c = $2 } END { print r + 0, c + 0 }' "$cg/memory.stat" 2> /dev/null || echo "0 0")
    ((r > rss)) && rss=$r
    ((c > cache)) && cache=$c
    echo "$rss $cache" > "$out"
    sleep 0.2
  done
}

# Runs "$@" in the background as the cgroup's only process: GNU time outside it (its figures are the
# job's: sh execs the job in place), sh writes its own pid into cgroup.procs and execs. Sets job_pid
# (GNU time's pid); the job's stdout and stderr go to file $1, GNU time's line to $1.time.
job_start() {
  local log=$1
  shift
  /usr/bin/time -f '%e %M %x' -o "$log.time" \
    sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cg" "$@" > "$log" 2>&1 < /dev/null &
  job_pid=$!
}

# Waits for the job and reads everything into res:
# "status wall_s max_usage_mib failcnt oom_kill rss_mib cache_mib peak_rss_mib".
job_finish() {
  local log=$1 stop=$2
  wait "$job_pid" || true
  job_pid=""
  touch "$stop"
  wait "$sampler_pid" || true
  local t rss rc status
  read -r t rss rc <<< "$(tail -n 1 "$log.time")"
  status="exit $rc"
  if grep -q 'terminated by signal' "$log.time"; then
    status="signal $(sed -n 's/.*terminated by signal \([0-9]*\).*/\1/p' "$log.time")"
  fi
  local max fail oom srss scache
  max=$(cat "$cg/memory.max_usage_in_bytes")
  fail=$(cat "$cg/memory.failcnt")
  oom=$(awk '$1 == "oom_kill" { print $2 }' "$cg/memory.oom_control")
  read -r srss scache < "$log.sampled"
  cp "$cg/memory.stat" "$log.memory.stat"
  res="${status// /_} $t $(bench_mib $((max / 1024))) $fail $oom $(bench_mib $((srss / 1024))) $(bench_mib $((scache / 1024))) $(bench_mib "$rss")"
}

# One job, by name: runs it in a fresh cgroup and appends its row to ROWS (and a failure to FAILED).
ROWS=() FAILED=()
run_job() {
  local name=$1 what=$2
  rm -rf "$target" "$scratch" "$work/termination-log"
  mkdir -p "$target" "$scratch"
  bench_drop_caches
  cgroup_create
  local log=$work/$name.log stop=$work/$name.stop
  rm -f "$stop" "$log.sampled"
  echo "0 0" > "$log.sampled"
  cgroup_sampler "$log.sampled" "$stop" &
  sampler_pid=$!
  bench_log "$name: $what"
  code="" res=""
  case $name in
    http) job_http "$log" ;;
    upload) job_upload "$log" ;;
    registry) job_registry "$log" ;;
  esac
  job_finish "$log" "$stop"
  local status t max fail oom srss scache prss
  read -r status t max fail oom srss scache prss <<< "$res"
  status=${status//_/ }
  cgroup_remove
  local sum="-" same=no left
  if [[ -f $target/disk.img ]]; then
    bench_log "$name: sha256 of the target ($(stat -c %s "$target/disk.img") bytes)"
    sum=$(sha256sum "$target/disk.img" | cut -d' ' -f1)
    [[ $sum == "$ref_sum" ]] && same=yes
  fi
  left=$(find "$scratch" -mindepth 1 | wc -l)
  local ok=yes
  [[ $status == "exit 0" ]] || ok=no
  [[ -z $code || $code == 200 ]] || ok=no
  [[ $oom == 0 && $same == yes && $left == 0 ]] || ok=no
  [[ $ok == yes ]] || FAILED+=("$name")
  ROWS+=("| $what | $status${code:+, HTTP $code} | $t | $max | $srss / $scache | $prss | $fail | $oom | $same | $([[ $left == 0 ]] && echo empty || echo "$left entries") |")
  bench_log "$name: $status${code:+ HTTP $code}, ${t}s, cgroup max $max MiB, peak RSS $prss MiB, oom_kill $oom, sha256 equal: $same"
  rm -rf "$target" "$scratch"
}

# The importer's command line, as bench/http_import.sh and bench/registry_import.sh run it.
importer_cmd() { # source endpoint [VAR=value...]
  local source=$1 endpoint=$2
  shift 2
  cmd=(env -i PATH="$PATH" IMPORTER_SOURCE="$source" IMPORTER_ENDPOINT="$endpoint" IMPORTER_CONTENTTYPE=kubevirt
    CDI_DATA_DIR="$target" CDI_SCRATCH_DIR="$scratch" CDI_BLOCK_DEVICE=/nonexistent
    CDI_TERMINATION_LOG="$work/termination-log" CDI_METRICS_PORT=0 OWNER_UID=bench "$@" "$importer")
}

job_http() {
  local cmd
  importer_cmd http "http://127.0.0.1:$BENCH_NGINX_PORT/$(basename "$qcow2")"
  job_start "$1" "${cmd[@]}"
}

job_registry() {
  local cmd
  importer_cmd registry "$REGISTRY_REF" INSECURE_TLS=true IMPORTER_IMAGE_SIZE="$size"
  job_start "$1" "${cmd[@]}"
}

# As bench/upload.sh: a fresh cdi-uploadserver, curl streams the qcow2 (-T) to the sync upload
# endpoint once the server says where it listens; curl's HTTP status goes to code. The server exits
# after answering.
job_upload() {
  local log=$1
  job_start "$log" env -i PATH="$PATH" TLS_KEY_FILE="$pki/tls.key" TLS_CERT_FILE="$pki/tls.crt" \
    CLIENT_CERT_FILE="$pki/ca.crt" CLIENT_NAME=client.upload-server.cdi.kubevirt.io \
    UPLOAD_IMAGE_SIZE="$size" FILESYSTEM_OVERHEAD=0 LISTEN_ADDRESS=127.0.0.1 LISTEN_PORT=0 \
    CDI_DATA_DIR="$target" CDI_SCRATCH_DIR="$scratch" CDI_TERMINATION_LOG="$work/termination-log" \
    DEADLINE="$(date -u -d '+2 hour' +%Y-%m-%dT%H:%M:%SZ)" "$server"
  local port=""
  for _ in $(seq 200); do
    port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)$/\1/p' "$log" 2> /dev/null | head -n 1)
    [[ -n $port ]] && break
    sleep 0.05
  done
  if [[ -z $port ]]; then
    kill "$job_pid" 2> /dev/null || true
    code=000
    return 0
  fi
  code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" --cert "$pki/client.crt" \
    --key "$pki/client.key" -X POST -T "$qcow2" "https://127.0.0.1:$port/v1beta1/upload" 2>> "$work/curl.log") || true
  # Without a 200 the server would wait for another upload until its deadline.
  [[ $code == 200 ]] || while read -r p; do kill "$p" 2> /dev/null || true; done < "$cg/cgroup.procs"
}

# The services, outside the cgroup.
for job in $only; do
  case $job in
    http)
      bench_nginx_http_start "$work/nginx" "$dir" "$(basename "$qcow2")"
      pids_to_stop+=("$BENCH_NGINX_PID")
      ;;
    upload)
      pki=$work/pki
      bash "$repo/scripts/make-upload-pki.sh" "$pki" || bench_die "PKI generation failed"
      ;;
    registry)
      reg=$dir/registry-$name
      bench_registry_start "$work/registry" "$reg/storage"
      pids_to_stop+=("$BENCH_REGISTRY_PID")
      REGISTRY_REF="docker://127.0.0.1:$BENCH_REGISTRY_PORT/bench/disk:v1"
      bench_containerdisk_push "$reg" "$qcow2" "$level" "$REGISTRY_REF"
      ;;
    *) bench_die "unknown job $job (http upload registry)" ;;
  esac
done

declare -A what=(
  [http]="HTTP import (nginx, 127.0.0.1)"
  [upload]="upload (curl, mTLS, sync /v1beta1/upload)"
  [registry]="containerdisk import (docker-registry, gzip -$level layer)"
)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for job in $only; do
  run_job "$job" "${what[$job]}"
done

contents="64 MiB of random data every $stride bytes"
[[ $layout == shuffled ]] && contents="every 4 KiB cluster written once by qemu-io in shuffled guest order"
echo "qcow2 of virtual size $size bytes ($(numfmt --to=iec "$size")), $(stat -c %s "$qcow2") bytes: $contents; raw sha256 ${ref_sum:0:16}…"
echo "Each job alone in a cgroup-v1 memory cgroup, memory.limit_in_bytes = $limit ($(numfmt --to=iec "$limit")); importer $importer, server $server."
echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$repo" rev-parse --short HEAD), $(nproc) CPUs, load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo
echo "| job | status | wall s | cgroup max_usage MiB | cgroup rss / cache MiB (sampled max) | process peak RSS MiB | failcnt | oom_kill | sha256 = raw | scratch |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
if ((${#FAILED[@]})); then
  bench_log "FAILED: ${FAILED[*]} (logs in $work)"
  exit 1
fi
