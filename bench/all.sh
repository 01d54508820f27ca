#!/usr/bin/env bash
# The whole bench in one command (issue 6): installs what is missing (scripts/setup.sh), builds
# cdi-importer and cdi-uploadserver in Release mode, builds the inputs once, then runs every
# workload against its peers (each script interleaves its runners, REPS cold runs each) and the
# physical limits, in one run on one machine. Writes into bench/results/<UTC timestamp>/:
#   table.md      the machine, the commit, then every script's markdown table (also on stdout)
#   results.csv   ours against each peer, one row per workload and peer (bench/lib.sh: BENCH_CSV)
#   limits.csv    the physical limits (bench/lib.sh: BENCH_LIMITS_CSV)
#   chart.png     bench/plot.sh's chart of both CSVs
#   <suite>.md / bench.log   each script's table, and all progress output
# and points bench/results/latest at it. Results are not committed (bench/results/.gitignore).
#
# Usage: sudo bench/all.sh
# Environment:
#   BENCH_SIZE  virtual size of the disk (default 4G; binary units)
#   REPS        cold runs of each runner (default 3); tables show medians
#   BENCH_DIR   inputs (built once, reused) and outputs (default /var/tmp/cdi-bench-<size>)
#   BENCH_ONLY  suites to run, in this order by default:
#                 limits upload upload-block http registry upload-rss
#               a suite may name its own workloads after a colon: "upload:raw,qcow2 http:xz";
#               also "file" (bench/run.sh, local file import; its table only: it writes no CSV rows)
#   BENCH_BUILD_DIR  the Release build (default <repo>/build-bench); BENCH_NO_BUILD=1 skips building
#   BENCH_NO_SETUP=1 skips scripts/setup.sh
#   BENCH_ORIGIN_TMPFS=1  the inputs come from /dev/shm, not the bench disk: the HTTP suite's nginx and
#               the registry suite's docker-registry serve them from there, the upload suites' curl
#               sends them from there (bench/http_import.sh, bench/registry_import.sh, bench/upload.sh)
# A suite that fails is reported in table.md and the run goes on; the exit status is then 1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

size_arg=${BENCH_SIZE:-4G}
size=$(bench_bytes "$size_arg")
reps=${REPS:-3}
dir=${BENCH_DIR:-/var/tmp/cdi-bench-$size_arg}
only=${BENCH_ONLY:-limits upload upload-block http registry upload-rss}
build=${BENCH_BUILD_DIR:-$repo/build-bench}

[[ $(id -u) -eq 0 ]] || bench_die "run as root (sudo bench/all.sh): every timed run starts with drop_caches"

# Every suite: its script and the environment it adds.
declare -A script suite_env
script[limits]=limits.sh
script[upload]=upload.sh
script[upload-block]=upload.sh
suite_env[upload-block]=BENCH_TARGET=block
script[http]=http_import.sh
script[registry]=registry_import.sh
script[upload-rss]=upload_rss.sh
script[file]=run.sh
for s in $only; do
  [[ -n ${script[${s%%:*}]:-} ]] || bench_die "unknown suite ${s%%:*} (one of: ${!script[*]})"
done

ts=$(date -u +%Y%m%dT%H%M%SZ)
results="$here/results"
res="$results/$ts"
mkdir -p "$res"
log="$res/bench.log"
# All progress (stderr) goes to the terminal and to bench.log.
exec 2> >(tee -a "$log" >&2)

if [[ -z ${BENCH_NO_SETUP:-} ]]; then
  bench_log "scripts/setup.sh"
  bash "$repo/scripts/setup.sh" >&2
fi
command -v gnuplot > /dev/null || bench_log "warning: no gnuplot: no chart (scripts/setup.sh installs gnuplot-nox)"

if [[ -z ${BENCH_NO_BUILD:-} ]]; then
  bench_log "building cdi-importer and cdi-uploadserver (Release) in $build"
  cmake -G Ninja -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCDI_BUILD_TESTS=OFF >&2
  cmake --build "$build" --target cdi-importer cdi-uploadserver >&2
fi
importer=$build/importer/cdi-importer
server=$build/server/cdi-uploadserver
[[ -x $importer && -x $server ]] || bench_die "no cdi-importer / cdi-uploadserver in $build"

bench_build_inputs "$dir" "$size"

# The header: what ran, where, on what.
commit=$(git -C "$repo" rev-parse --short HEAD 2> /dev/null || echo unknown)
# --no-optional-locks: a read-only status (no index refresh written).
[[ -n $(git -C "$repo" --no-optional-locks status --porcelain --untracked-files=no 2> /dev/null) ]] &&
  commit+=" (with uncommitted changes)"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
ram=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
read -r fs_src fs_type < <(df --output=source,fstype "$dir" | tail -n 1)
disk=$(lsblk -no MODEL,SIZE,ROTA "$fs_src" 2> /dev/null | head -n 1 | tr -s ' ' | sed 's/^ //;s/ 1$/, rotational/;s/ 0$//') || true
opts=$(findmnt -no OPTIONS --target "$dir" 2> /dev/null || true)
{
  echo "# cdi-dataplane bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- commit $commit"
  echo "- $(nproc) CPUs ($cpu), $ram RAM, kernel $(uname -r)"
  echo "- BENCH_DIR $dir on $fs_src ($fs_type${disk:+, $disk}${opts:+; mount options $opts})"
  echo "- virtual size $size bytes ($size_arg), REPS=$reps; load average at the start $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- inputs: disk.raw $(du -B1 "$dir/disk.raw" | cut -f1) bytes allocated; gz $(stat -c %s "$dir/disk.raw.gz"), xz $(stat -c %s "$dir/disk.raw.xz"), zst $(stat -c %s "$dir/disk.raw.zst"), qcow2 $(stat -c %s "$dir/disk.qcow2") bytes"
  if [[ ${BENCH_ORIGIN_TMPFS:-} == 1 ]]; then
    echo "- origins: nginx and docker-registry serve, and the upload client sends, copies of the inputs from /dev/shm (BENCH_ORIGIN_TMPFS=1), not the bench disk"
  fi
  echo "- ratio ours/peer = peer time / our time: above 1 we are faster"
} > "$res/header.md"

export BENCH_CSV="$res/results.csv" BENCH_LIMITS_CSV="$res/limits.csv"
failed=()
for s in $only; do
  name=${s%%:*}
  sub=""
  [[ $s == *:* ]] && sub=${s#*:} && sub=${sub//,/ }
  sh=$here/${script[$name]}
  if [[ ! -f $sh ]]; then
    bench_log "$name: no $sh, skipped"
    printf '## %s\n\nskipped: no bench/%s\n' "$name" "${script[$name]}" > "$res/$name.md"
    continue
  fi
  bench_log "suite $name: bench/${script[$name]} ${suite_env[$name]:-}"
  # Each script reads BENCH_ONLY as its own workload list: only what the suite names after ':'.
  vars=(BENCH_SUITE="$name")
  [[ -n $sub ]] && vars+=(BENCH_ONLY="$sub")
  [[ -n ${suite_env[$name]:-} ]] && vars+=("${suite_env[$name]}")
  rc=0
  env -u BENCH_ONLY "${vars[@]}" BENCH_SIZE="$size" BENCH_DIR="$dir" REPS="$reps" BENCH_IMPORTER="$importer" BENCH_SERVER="$server" \
    bash "$sh" > "$res/$name.out" || rc=$?
  {
    echo "## $name${sub:+ ($sub)}"
    echo
    if ((rc == 0)); then cat "$res/$name.out"; else echo "FAILED (exit status $rc): see bench.log"; fi
  } > "$res/$name.md"
  rm -f "$res/$name.out"
  ((rc == 0)) || { failed+=("$name"); bench_log "suite $name failed (exit status $rc), going on"; }
done

{
  cat "$res/header.md"
  echo "- load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  for s in $only; do
    echo
    cat "$res/${s%%:*}.md"
  done
} > "$res/table.md"
rm -f "$res/header.md"

if command -v gnuplot > /dev/null && [[ -s $BENCH_CSV || -s $BENCH_LIMITS_CSV ]]; then
  bash "$here/plot.sh" "$res" || bench_log "warning: plot.sh failed"
fi
printf '*\n!.gitignore\n' > "$results/.gitignore"
ln -sfn "$ts" "$results/latest"
# Results belong to whoever ran sudo, not root.
if [[ -n ${SUDO_UID:-} ]]; then chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$results" || true; fi

cat "$res/table.md"
echo
echo "Results in $res (bench/results/latest): $(cd "$res" && echo *)"
if ((${#failed[@]})); then
  bench_log "failed suites: ${failed[*]}"
  exit 1
fi
