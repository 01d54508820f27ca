#!/usr/bin/env bash
# fuzz/run.sh [seconds]: builds the libFuzzer harnesses (build-fuzz/, clang-16, ASan + UBSan +
# -fsanitize=fuzzer), generates the seed corpora, replays the kept regression inputs, then runs every
# harness for `seconds` (default 15), as many at a time as there are cores. Exit status 1 when any
# harness found something: its input is build-fuzz/findings/<harness>-crash-… (or leak-, timeout-,
# oom-; a harness's findings of the previous run are cleared when it starts), its report
# build-fuzz/logs/<harness>.log. The corpora grow in build-fuzz/corpus/ between runs.
#   CDI_FUZZ_ONLY=regex   run only the harnesses whose name matches
#   CDI_FUZZ_BUILD_DIR    another build directory
#   CDI_FUZZ_JOBS         harnesses at a time (default: nproc)
#   CDI_FUZZ_SEED         libFuzzer's -seed (default 0: a new one each run; CI's smoke pins 1, so a
#                         failing smoke is the same path again, not a different random walk)
#   CDI_FUZZ_ARGS         more libFuzzer flags (a long run: "-fork=1 -ignore_crashes=1" goes on past a finding)
set -euo pipefail
secs=${1:-15}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CDI_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${CDI_FUZZ_JOBS:-$(nproc)}
only=${CDI_FUZZ_ONLY:-.}

command -v clang++-16 >/dev/null || { echo "fuzz: clang++-16 is missing (scripts/setup.sh installs it)" >&2; exit 2; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
echo "== fuzz build ($build)"
# -O1 with line tables only: reports still name files and lines, and the cold build of the CI smoke
# compiles faster than at -O2 with full debug information.
CC=clang-16 CXX=clang++-16 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" -DCDI_FUZZ=ON \
  "${launcher[@]}" >/dev/null
cmake --build "$build" --target cdi_fuzzers -j "$jobs"

echo "== seeds"
bash "$root/fuzz/make_corpus.sh" "$build/seeds"
mkdir -p "$build/corpus" "$build/findings" "$build/logs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {  # run_one NAME SECONDS ROOT BUILD
  local name=$1 secs=$2 root=$3 build=$4
  local bin=$build/fuzz/fuzz_$name log=$build/logs/$name.log
  local corpus=$build/corpus/$name seeds=$build/seeds/$name regress=$root/fuzz/regressions/$name
  mkdir -p "$corpus" "$seeds"
  local args=(-timeout=30 -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$build/findings/$name-"
              -seed="${CDI_FUZZ_SEED:-0}")
  local extra=()
  read -r -a extra <<<"${CDI_FUZZ_ARGS:-}"
  [[ -f $root/fuzz/dict/$name.dict ]] && args+=(-dict="$root/fuzz/dict/$name.dict")
  : >"$log"
  rm -f "$build/findings/$name-"*  # the findings of this run only
  if [[ -d $regress ]] && compgen -G "$regress/*" >/dev/null; then  # each kept input once
    if ! "$bin" "${args[@]}" "$regress"/* >>"$log" 2>&1; then echo "FAIL  $name (a kept regression input)"; return 1; fi
  fi
  local status=0
  /usr/bin/time -f "cpu_seconds: %U user %S system" -a -o "$log" \
    "$bin" "${args[@]}" "${extra[@]}" -max_total_time="$secs" "$corpus" "$seeds" >>"$log" 2>&1 || status=$?
  local execs cov
  # -fork mode: the parent's progress lines ("#N: … job: K") count every child's runs; a child's
  # final stats count only its own.
  execs=$(grep -a ' job: [0-9]' "$log" | grep -ao '^#[0-9]*' | tail -1 | tr -d '#')
  [[ -n $execs ]] || execs=$(grep -ao 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  if ((status != 0)) || compgen -G "$build/findings/$name-*" >/dev/null; then  # -ignore_crashes exits 0
    echo "FAIL  $name (exit $status; see $log and $build/findings/$name-*)"
    return 1
  fi
  printf 'ok    %-30s %10s runs  cov %-6s %s\n' "$name" "${execs:-?}" "${cov:-?}" "$(grep -ao 'cpu_seconds: .*' "$log" | tail -1)"
}
export -f run_one

names=()
for bin in "$build"/fuzz/fuzz_*; do
  name=${bin##*/fuzz_}
  [[ $name =~ $only ]] && names+=("$name")
done
echo "== ${#names[@]} harnesses, ${secs} s each, $jobs at a time"
status=0
printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$secs" "$root" "$build" || status=1
if ((status != 0)); then
  echo "== findings:"; ls -1 "$build/findings" 2>/dev/null || true
fi
exit $status
