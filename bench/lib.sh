# shellcheck shell=bash
# Helpers for bench/run.sh (sourced, not executed).
# Needs: bash, python3, coreutils, openssl, e2fsprogs (mkfs.ext4 -d, debugfs), pigz, xz, zstd, qemu-img: all in
# scripts/setup.sh's package list. GNU time (/usr/bin/time) is used when installed.

# The repository holding this file.
BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

bench_log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
bench_die() { bench_log "error: $*"; exit 1; }

# Bytes from a size with an optional K/M/G/T suffix (binary units): 2G -> 2147483648.
bench_bytes() { numfmt --from=iec "${1%iB}"; }

# Fills directory $1 with about $2 bytes: three quarters copied from /usr/lib and /usr/share
# (binaries, text, already-compressed files: the mix a VM disk holds), one quarter pseudo-random
# (data that does not compress), so the compressors see realistic ratios. Deterministic for a given
# set of installed packages: files in sorted order, the random part an AES-CTR keystream with a
# fixed key (file i uses IV i), every time stamp set to BENCH_EPOCH.
bench_fill_tree() {
  local dir=$1 budget=$2
  local copy_budget=$((budget * 3 / 4)) rand_budget=$((budget - budget * 3 / 4))
  mkdir -p "$dir/usr" "$dir/random"
  # Files in a stable order until the budget is spent; tar keeps the relative paths.
  find /usr/lib /usr/share -xdev -type f -size +0 -printf '%s %p\n' 2>/dev/null | sort -k2 |
    awk -v b="$copy_budget" '{ if (t + $1 > b) next; t += $1; sub(/^[0-9]+ \//, ""); print }' \
      > "$dir.list"
  tar -C / -cf - --no-recursion -T "$dir.list" 2>/dev/null | tar -C "$dir/usr" -xf -
  rm -f "$dir.list"
  # Pseudo-random files of 1..64 MiB (the keystream of zeros: no SIGPIPE, unlike a read of it).
  local left=$rand_budget i=0 n
  while ((left > 0)); do
    n=$(((i % 64 + 1) << 20))
    ((n > left)) && n=$left
    head -c "$n" /dev/zero |
      openssl enc -aes-128-ctr -nosalt -K 6364692d62656e63682d696e70757473 -iv "$(printf '%032x' "$i")" \
        > "$dir/random/r$i.bin"
    left=$((left - n))
    i=$((i + 1))
  done
  find "$dir" -exec touch -h -d "@$BENCH_EPOCH" {} +
}

# The time stamp of everything in the bench disk, and its filesystem's UUID and directory hash seed.
BENCH_EPOCH=1700000000
BENCH_FS_UUID=6e6a1f2c-0000-4000-8000-000000000001
BENCH_FS_HASH_SEED=6e6a1f2c-0000-4000-8000-000000000002

# Builds the inputs in $1 for a virtual size of $2 bytes, once: disk.raw (an ext4 filesystem about
# 45% full) and its raw.gz, raw.xz (multi-block), raw.zst and qcow2. A stamp file marks a complete
# set of that size, which later runs reuse.
bench_build_inputs() {
  local dir=$1 size=$2
  local stamp="$dir/inputs-$size.done"
  if [[ -f $stamp ]]; then
    bench_log "reusing inputs in $dir (virtual size $size)"
    bench_build_derived_inputs "$dir"
    return 0
  fi
  mkdir -p "$dir"
  rm -rf "$dir/tree" "$dir"/disk.* "$dir"/inputs-*.done
  bench_log "filling a tree with $((size * 45 / 100)) bytes"
  bench_fill_tree "$dir/tree" $((size * 45 / 100))
  bench_log "mkfs.ext4 -d onto a $size-byte raw disk"
  truncate -s "$size" "$dir/disk.raw"
  # Fixed UUID, hash seed and mkfs time; -d copies each file's ctime and atime, which cannot be set
  # in the tree, so debugfs sets them afterwards: the same bytes on every build.
  E2FSPROGS_FAKE_TIME=$BENCH_EPOCH mkfs.ext4 -q -F -d "$dir/tree" -L bench -U "$BENCH_FS_UUID" \
    -E hash_seed="$BENCH_FS_HASH_SEED" "$dir/disk.raw" || bench_die "mkfs.ext4 failed"
  (cd "$dir/tree" && find . -mindepth 1 -printf '%P\n') |
    awk -v t="$BENCH_EPOCH" '{ gsub(/"/, "\\\""); printf "sif \"/%s\" ctime %s\nsif \"/%s\" atime %s\n", $0, t, $0, t }
      END { printf "sif / ctime %s\nsif / atime %s\n", t, t }' > "$dir/debugfs.cmds"
  E2FSPROGS_FAKE_TIME=$BENCH_EPOCH debugfs -w -f "$dir/debugfs.cmds" "$dir/disk.raw" > /dev/null 2>&1 || bench_die "debugfs failed"
  rm -f "$dir/debugfs.cmds"
  rm -rf "$dir/tree"
  bench_log "compressing: pigz -6 -n (no name, no time stamp)"
  pigz -6 -n -p 2 -c "$dir/disk.raw" > "$dir/disk.raw.gz"
  bench_log "compressing: xz -T2 -3 --block-size=16MiB"
  xz -T2 -3 --block-size=16MiB -c "$dir/disk.raw" > "$dir/disk.raw.xz"
  bench_log "compressing: zstd -3 -T2"
  zstd -q -3 -T2 -c "$dir/disk.raw" > "$dir/disk.raw.zst"
  bench_log "converting: qemu-img convert -O qcow2"
  qemu-img convert -f raw -O qcow2 "$dir/disk.raw" "$dir/disk.qcow2"
  bench_build_derived_inputs "$dir"
  sync
  touch "$stamp"
}

# Inputs added after the first ones (issue 14), built from disk.raw when missing, so a reused input
# directory gains them without a rebuild of the rest.
bench_build_derived_inputs() {
  local dir=$1
  if [[ ! -f $dir/disk.c.qcow2 ]]; then
    bench_log "converting: qemu-img convert -c -O qcow2 (zlib-compressed clusters, as cloud images ship)"
    qemu-img convert -c -f raw -O qcow2 "$dir/disk.raw" "$dir/disk.c.qcow2.part" && mv "$dir/disk.c.qcow2.part" "$dir/disk.c.qcow2"
  fi
  if [[ ! -f $dir/disk.stream.vmdk ]]; then
    bench_log "converting: qemu-img convert -O vmdk -o subformat=streamOptimized (as OVAs carry)"
    qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$dir/disk.raw" "$dir/disk.stream.vmdk.part" &&
      mv "$dir/disk.stream.vmdk.part" "$dir/disk.stream.vmdk"
  fi
  if [[ ! -f $dir/disk.l1end.qcow2 ]]; then
    # Grown past what one L1 cluster maps (qemu moves the bigger L1 to the end of the file), then
    # shrunk back (the L1 stays there): every byte of data passes before the table that names it.
    bench_log "converting: qemu-img convert -O qcow2, resize to 5T and back (the L1 table at the end)"
    qemu-img convert -f raw -O qcow2 "$dir/disk.raw" "$dir/disk.l1end.qcow2.part" &&
      qemu-img resize -q "$dir/disk.l1end.qcow2.part" 5T &&
      qemu-img resize -q --shrink "$dir/disk.l1end.qcow2.part" "$(stat -c %s "$dir/disk.raw")" &&
      mv "$dir/disk.l1end.qcow2.part" "$dir/disk.l1end.qcow2"
  fi
}

# A free TCP port on 127.0.0.1 (bound then released: another process could take it in between).
bench_free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts nginx in the background serving directory $2 over plain HTTP on 127.0.0.1 (sendfile,
# keep-alive, ranges), its config, pid file and error log in directory $1 (created); waits until it
# serves file $3 (a name in $2). Sets BENCH_NGINX_PID and BENCH_NGINX_PORT; the caller stops it.
bench_nginx_http_start() {
  local work=$1 root=$2 probe=$3
  mkdir -p "$work"
  BENCH_NGINX_PORT=$(bench_free_port)
  cat > "$work/nginx.conf" << EOF
daemon off; master_process off; worker_processes 1; pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 64; }
http {
  access_log off; sendfile on; default_type application/octet-stream;
  server { listen 127.0.0.1:$BENCH_NGINX_PORT; root $root; }
}
EOF
  nginx -p "$work" -c "$work/nginx.conf" &
  # shellcheck disable=SC2034 # for the caller
  BENCH_NGINX_PID=$!
  for _ in $(seq 100); do
    curl -sf -o /dev/null -I "http://127.0.0.1:$BENCH_NGINX_PORT/$probe" && break
    sleep 0.05
  done
}

# Starts Debian's docker-registry in the background on 127.0.0.1 over plain HTTP, no auth (config as
# tests/support/docker_registry.hpp), storing under directory $2; its config and log go to directory
# $1. Waits until /v2/ answers (dies otherwise). Sets BENCH_REGISTRY_PID and BENCH_REGISTRY_PORT;
# the caller stops it.
bench_registry_start() {
  local work=$1 storage=$2
  mkdir -p "$work" "$storage"
  BENCH_REGISTRY_PORT=$(bench_free_port)
  cat > "$work/registry.yml" << EOF
version: 0.1
log:
  level: warn
  formatter: text
storage:
  filesystem:
    rootdirectory: "$storage"
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$BENCH_REGISTRY_PORT
  secret: cdi-bench-upload-state-secret
EOF
  # REGISTRY_* variables would override the config file.
  env -i PATH="$PATH" docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
  # shellcheck disable=SC2034 # for the caller
  BENCH_REGISTRY_PID=$!
  for _ in $(seq 200); do
    curl -sf -o /dev/null "http://127.0.0.1:$BENCH_REGISTRY_PORT/v2/" && break
    sleep 0.05
  done
  curl -sf -o /dev/null "http://127.0.0.1:$BENCH_REGISTRY_PORT/v2/" ||
    bench_die "docker-registry did not start: $(cat "$work/registry.log")"
}

# The containerdisk of qcow2 file $2: an OCI image whose one gzip -$3 layer holds disk/disk.qcow2
# (tests/support/oci_image.py), pushed with skopeo to $4 (docker://HOST:PORT/NAME:v1, a registry
# from bench_registry_start storing under $1/storage). Once per qcow2: $1/pushed.done marks it
# (rebuilt when the qcow2 is newer).
bench_containerdisk_push() {
  local reg=$1 qcow2=$2 level=$3 ref=$4
  if [[ $reg/pushed.done -nt $qcow2 ]]; then
    bench_log "reusing the containerdisk in $reg/storage"
    return 0
  fi
  bench_log "building the containerdisk (gzip -$level layer of disk/disk.qcow2) and pushing it"
  rm -rf "$reg/oci" "$reg/pushed.done"
  cat > "$reg/spec.json" << EOF
{"tag": "v1", "images": [{"architecture": "amd64", "os": "linux", "layers": [{"compression": "gzip",
 "level": $level, "entries": [{"path": "disk/", "type": "dir"},
 {"path": "disk/disk.qcow2", "type": "file", "source": "$qcow2"}]}]}]}
EOF
  /usr/bin/python3 "$BENCH_REPO/tests/support/oci_image.py" "$reg/spec.json" "$reg/oci" > "$reg/summary.json" ||
    bench_die "oci_image.py failed"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-no-creds "oci:$reg/oci:v1" "$ref" ||
    bench_die "skopeo push failed"
  rm -rf "$reg/oci"
  touch "$reg/pushed.done"
}

# Runs a command and prints "seconds max_rss_kib exit_status"; the command's own stdout/stderr go
# to $BENCH_CMD_LOG. Peak RSS is ru_maxrss from wait4(), which Linux reports as the largest resident
# set of the process or of any descendant it waited for (the importer, or a qemu-img it ran).
# Exec carries the forking parent's RSS into the child's high-water mark, so the figure has a floor:
# ~1 MiB with GNU time; ~10 MiB with the python3 fallback (used when /usr/bin/time is not
# installed; its RSS figures are prefixed "~").
bench_timed() {
  local log=${BENCH_CMD_LOG:-/dev/null}
  if [[ -x /usr/bin/time ]]; then
    local tf
    tf=$(mktemp)
    # %e has 10 ms resolution: fine for runs of seconds. On failure GNU time writes "Command
    # exited with non-zero status N" before the format line, hence tail.
    /usr/bin/time -f '%e %M %x' -o "$tf" "$@" < /dev/null >> "$log" 2>&1 || true
    tail -n 1 "$tf"
    rm -f "$tf"
    return 0
  fi
  python3 -S - "$@" <<'PY'
import os, resource, subprocess, sys, time
log = open(os.environ.get("BENCH_CMD_LOG", "/dev/null"), "ab")
t0 = time.monotonic()
rc = subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
dt = time.monotonic() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{dt:.3f} ~{rss} {rc}")
PY
}

# Flushes dirty pages and drops the page cache, so every timed run starts cold.
bench_drop_caches() {
  sync
  echo 3 > /proc/sys/vm/drop_caches
}

# Median of the numbers given as arguments.
bench_median() {
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# One cold run of a command for bench_compare: fresh $TARGET_DIR and $SCRATCH_DIR, page cache
# dropped, then "seconds rss_kib" on stdout (the command's output goes to $BENCH_CMD_LOG).
bench_run_cold() {
  rm -rf "$TARGET_DIR" "$SCRATCH_DIR"
  mkdir -p "$TARGET_DIR" "$SCRATCH_DIR"
  bench_drop_caches
  sleep 1 # /var/tmp has online discard here: let the previous output's discards finish
  local t rss rc
  read -r t rss rc <<< "$(bench_timed bash -c "$1")"
  [[ $rc == 0 ]] || bench_die "exit status $rc from: $1 (see $BENCH_CMD_LOG)"
  echo "$t $rss"
}

bench_gbps() { awk -v s="$1" -v t="$2" 'BEGIN { printf "%.2f", s / t / 1e9 }'; }
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }

# CSV output (bench/all.sh sets these; a script run alone writes none). Every field goes through
# bench_csv_field, so commands with commas or quotes stay one field (RFC 4180).
#   BENCH_CSV         ours-against-a-peer rows, one per peer, from bench_compare:
#                     workload,peer,ours_s,peer_s,ours_gbps,peer_gbps,ours_over_peer,ours_rss_mib,peer_rss_mib
#   BENCH_LIMITS_CSV  physical limits, from bench_limit_row: limit,seconds,gbps,rss_mib
#   BENCH_SUITE       prefix of the workload in BENCH_CSV ("upload" -> "upload/raw"), so the rows of
#                     every script stay apart in one file; empty = the bare workload name.
# The header line is written when the file is missing or empty.
bench_csv_field() {
  local f=$1
  if [[ $f == *[,\"$'\n']* ]]; then f=${f//\"/\"\"}; f="\"$f\""; fi
  printf '%s' "$f"
}
bench_csv_append() { # file header field...
  local file=$1 header=$2 line="" f
  shift 2
  [[ -s $file ]] || printf '%s\n' "$header" > "$file"
  for f in "$@"; do line+="${line:+,}$(bench_csv_field "$f")"; done
  printf '%s\n' "$line" >> "$file"
}
bench_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# One physical limit: appends "| name | seconds | GB/s | peak RSS MiB |" to the array BENCH_ROWS
# and, when BENCH_LIMITS_CSV is set, a CSV row. Args: name seconds bytes rss_kib.
bench_limit_row() {
  local name=$1 t=$2 bytes=$3 rss=${4#\~}
  BENCH_ROWS+=("| $name | $t | $(bench_gbps "$bytes" "$t") | $((rss / 1024)) |")
  if [[ -n ${BENCH_LIMITS_CSV:-} ]]; then
    bench_csv_append "$BENCH_LIMITS_CSV" limit,seconds,gbps,rss_mib \
      "$name" "$t" "$(bench_gbps "$bytes" "$t")" "$(bench_mib "$rss")"
  fi
}

# One workload, ours against its peers, in one run: every command REPS times, interleaved and
# rotated (rep r starts with command r mod n, so no runner always follows the same one), each cold
# through the caller's run function (which prints "seconds rss_kib"); the first rep's output is
# compared with the reference disk. Appends one markdown row per peer to the array BENCH_ROWS
# (and one CSV row per peer to $BENCH_CSV when set, above):
# | workload | peer | ours s | peer s | ours GB/s | peer GB/s | ours/peer | ours RSS MiB | peer RSS MiB |
# Args: workload virtual_size reps reference output run_function ours_command peer_command...
bench_compare() {
  local w=$1 size=$2 reps=$3 ref=$4 out=$5 run=$6
  shift 6
  local -a cmds=("$@") times=() rss_max=()
  local n=${#cmds[@]} r k i t rss
  for ((i = 0; i < n; i++)); do times[i]=""; rss_max[i]=0; done
  for ((r = 0; r < reps; r++)); do
    for ((k = 0; k < n; k++)); do
      i=$(((k + r) % n))
      bench_log "$w rep $((r + 1))/$reps: ${cmds[i]}"
      local res
      res=$("$run" "${cmds[i]}") || exit 1 # the run function already said why
      read -r t rss <<< "$res"
      times[i]+="$t "
      rss=${rss#\~}
      ((rss > rss_max[i])) && rss_max[i]=$rss
      if ((r == 0)); then
        cmp "$ref" "$out" || bench_die "$w: output of ${cmds[i]} differs from $ref"
      fi
    done
  done
  local ours_t peer_t
  # shellcheck disable=SC2086
  ours_t=$(bench_median ${times[0]})
  for ((i = 1; i < n; i++)); do
    # shellcheck disable=SC2086
    peer_t=$(bench_median ${times[i]})
    BENCH_ROWS+=("| $w | \`${cmds[i]}\` | $ours_t | $peer_t | $(bench_gbps "$size" "$ours_t") | $(bench_gbps "$size" "$peer_t") | $(bench_ratio "$ours_t" "$peer_t") | $((rss_max[0] / 1024)) | $((rss_max[i] / 1024)) |")
    if [[ -n ${BENCH_CSV:-} ]]; then
      bench_csv_append "$BENCH_CSV" workload,peer,ours_s,peer_s,ours_gbps,peer_gbps,ours_over_peer,ours_rss_mib,peer_rss_mib \
        "${BENCH_SUITE:+$BENCH_SUITE/}$w" "${cmds[i]}" "$ours_t" "$peer_t" "$(bench_gbps "$size" "$ours_t")" \
        "$(bench_gbps "$size" "$peer_t")" "$(bench_ratio "$ours_t" "$peer_t")" "$(bench_mib "${rss_max[0]}")" \
        "$(bench_mib "${rss_max[i]}")"
    fi
  done
  bench_log "$w: ${times[*]}"
}
