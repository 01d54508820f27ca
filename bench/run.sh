#!/usr/bin/env bash
# End-to-end bench: cdi-importer against the command-line peers, local file -> raw target file,
# side by side in one run. Prints a markdown table on stdout; progress goes to stderr.
# See bench/README.md for what each column means and how the comparison is kept fair.
#
# Environment:
#   BENCH_SIZE      virtual size of the test disk (default 2G; K/M/G suffixes, binary units)
#   BENCH_DIR       inputs (built once, reused) and outputs (default /var/tmp/cdi-bench)
#   REPS            timed runs of each command (default 3); the table shows medians
#   BENCH_IMPORTER  the cdi-importer binary (default <repo>/build-bench/importer/cdi-importer)
#   BENCH_ONLY      space-separated subset of workloads: gz xz zst qcow2 qcow2-trynone (default all)
#   BENCH_SETTLE    seconds to wait after dropping the caches, before each timed run (default 1)
# Needs root (drops the page cache before every timed run).
# The runner command lines are single-quoted on purpose: bash -c expands $IN and $OUT later.
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
only=${BENCH_ONLY:-gz xz zst qcow2 qcow2-trynone}
settle=${BENCH_SETTLE:-1}

[[ $(id -u) -eq 0 ]] || bench_die "run as root: every timed run starts with drop_caches"
[[ -x $importer ]] || bench_die "no importer at $importer (cmake --build build-bench --target cdi-importer)"
for t in pigz gzip xz zstd qemu-img mkfs.ext4 cmp python3; do
  command -v "$t" > /dev/null || bench_die "missing tool: $t (scripts/setup.sh installs it)"
done

bench_build_inputs "$dir" "$size"
ref="$dir/disk.raw"
out_root="$dir/out"          # same filesystem as the inputs: /var/tmp by default
target_dir="$out_root/target"
scratch_dir="$out_root/scratch"
out="$target_dir/disk.img"   # ours writes CDI_DATA_DIR/disk.img; the peers write the same path
export BENCH_CMD_LOG="$out_root/commands.log"
mkdir -p "$out_root"
: > "$BENCH_CMD_LOG"

# Each runner is one shell command line (run by bash -c), with IN and OUT substituted.
ours='env -i PATH="$PATH" $OURS_ENV IMPORTER_SOURCE=file IMPORTER_ENDPOINT="file://$IN" CDI_DATA_DIR="'$target_dir'" CDI_SCRATCH_DIR="'$scratch_dir'" CDI_TERMINATION_LOG="'$out_root'/termination-log" CDI_BLOCK_DEVICE=/nonexistent "'$importer'"'

# ours_env: extra importer environment for a workload.
declare -A input peers ours_env
input[gz]="$dir/disk.raw.gz"
peers[gz]='gzip -dc "$IN" > "$OUT" && sync "$OUT"
pigz -dc "$IN" > "$OUT" && sync "$OUT"'
input[xz]="$dir/disk.raw.xz"
peers[xz]='xz -dc -T0 "$IN" > "$OUT" && sync "$OUT"'
input[zst]="$dir/disk.raw.zst"
peers[zst]='zstd -dc "$IN" > "$OUT" && sync "$OUT"'
input[qcow2]="$dir/disk.qcow2"
peers[qcow2]='qemu-img convert -t writeback -p -O raw "$IN" "$OUT" && sync "$OUT"
qemu-img convert -f qcow2 -O raw -t none -W -m 16 "$IN" "$OUT" && sync "$OUT"'
# The same with the importer asked for -t none (CDI's CACHE_MODE=TRYNONE); the default is writeback.
input[qcow2-trynone]=${input[qcow2]}
peers[qcow2-trynone]=${peers[qcow2]}
ours_env[qcow2-trynone]=CACHE_MODE=TRYNONE

# Runs one command cold: fresh output directories, page cache dropped. Prints "seconds rss_kib".
run_cold() {
  local cmd=$1 in=$2
  rm -rf "$target_dir" "$scratch_dir"
  mkdir -p "$target_dir" "$scratch_dir"
  bench_drop_caches
  # /var/tmp is mounted with online discard here: let the discards of the previous output finish.
  sleep "$settle"
  local t rss rc
  local res
  res=$(IN=$in OUT=$out OURS_ENV=$ours_extra bench_timed bash -c "$cmd")
  read -r t rss rc <<< "$res"
  [[ $rc == 0 ]] || bench_die "exit status $rc from: $cmd (see $BENCH_CMD_LOG)"
  [[ -f $out ]] || bench_die "no output $out from: $cmd"
  echo "$t $rss"
}

gb() { awk -v s="$size" -v t="$1" 'BEGIN { printf "%.2f", s / t / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
rss_rows=()
for w in $only; do
  [[ -n ${input[$w]:-} ]] || bench_die "unknown workload $w"
  in=${input[$w]}
  ours_extra=${ours_env[$w]:-}
  mapfile -t cmds <<< "${peers[$w]}"
  cmds=("$ours" "${cmds[@]}")
  n=${#cmds[@]}
  declare -a times=()
  for ((i = 0; i < n; i++)); do times[i]=""; done
  our_rss=0
  # Untimed read of the input: the guest's cache is dropped before every run, but the host's is
  # not, so otherwise whoever runs first would alone read the input from the host's disk.
  cat "$in" > /dev/null
  for ((r = 0; r < reps; r++)); do
    # Rotate who goes first, so no runner always follows the same one (a buffered write right
    # after an O_DIRECT one is slower here: performance.md).
    for ((k = 0; k < n; k++)); do
      i=$(((k + r) % n))
      if ((i == 0)); then label="ours${ours_extra:+ ($ours_extra)}"; else label=${cmds[i]}; fi
      bench_log "$w rep $((r + 1))/$reps: $label"
      res=$(run_cold "${cmds[i]}" "$in")
      read -r t rss <<< "$res"
      times[i]+="$t "
      if ((i == 0)); then
        rss=${rss#\~}
        ((rss > our_rss)) && our_rss=$rss
      fi
      # Correctness once per runner and workload: byte-exact with the reference disk.
      if ((r == 0)); then
        cmp "$ref" "$out" || bench_die "$w: output of \"${cmds[i]}\" differs from $ref"
      fi
    done
  done
  # shellcheck disable=SC2086
  ours_t=$(bench_median ${times[0]})
  for ((i = 1; i < n; i++)); do
    # shellcheck disable=SC2086
    peer_t=$(bench_median ${times[i]})
    peer_name=${cmds[i]//\"/}
    peer_name=${peer_name//\$/}
    rows+=("| $w | \`$peer_name\` | $ours_t | $peer_t | $(gb "$ours_t") | $(gb "$peer_t") | $(ratio "$ours_t" "$peer_t") |")
  done
  rss_rows+=("| $w | $((our_rss / 1024)) |")
  bench_log "$w: ours ${times[0]}; peers ${times[*]:1}"
  unset times
done
rm -rf "$target_dir" "$scratch_dir"

in_size() { stat -c %s "$1"; }
echo "Virtual size $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1e9 }') GB), $(du -B1 "$ref" | cut -f1) bytes allocated;" \
  "inputs: gz $(in_size "$dir/disk.raw.gz"), xz $(in_size "$dir/disk.raw.xz"), zst $(in_size "$dir/disk.raw.zst"), qcow2 $(in_size "$dir/disk.qcow2") bytes."
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (at the start: $load_start) on $(nproc) CPUs."
echo "Median of $reps cold runs each (page cache dropped before every run); GB/s = virtual size / time (10^9 bytes)."
echo
echo "| workload | peer | ours s | peer s | ours GB/s | peer GB/s | ours/peer |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "| workload | our peak RSS MiB |"
echo "|---|---|"
printf '%s\n' "${rss_rows[@]}"
