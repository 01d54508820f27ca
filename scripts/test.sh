#!/usr/bin/env bash
# The README's test command and CI's: set up, build, and pass every test.
#   1. scripts/setup.sh (packages; quick when everything is installed)
#   2. release build in build/ and every ctest test (unit + integration; root-only tests run as root)
#   3. the three pod images built from build/ with podman and run as CDI runs them
#      (tests/containers/images_test.sh; it skips with a reason where podman cannot run containers)
#   4. ASan + UBSan build in build-asan/ and the unit tests again under the sanitizers
#   5. the fuzz smoke: every libFuzzer harness of fuzz/ for 15 s with a pinned seed (fuzz/run.sh; its own clang build in
#      build-fuzz/, only the libraries the harnesses need), the kept regression inputs replayed first
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

jobs=$(nproc)
# Free disk at each step: CI's disk is not ours to size, and a full disk fails a link far from its cause.
free_disk() { df -h --output=avail . | tail -1 | tr -d ' '; }
echo "== release build ($(free_disk) free)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCDI_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build build -j "$jobs"

echo "== tests (release) ($(free_disk) free)"
ctest --test-dir build -j "$jobs" --output-on-failure --timeout 600

echo "== pod images (podman) ($(free_disk) free)"
CDI_RELEASE_DIR="$PWD/build" CDI_SKIP_CMAKE=1 bash tests/containers/images_test.sh

# CI (CDI_CI=1, set by .ci/run) needs the release tree no more: its test executables (~5 GB) go
# before the sanitizer tree is built, so the peak disk use is one tree, not two. Local runs keep them.
if [[ ${CDI_CI:-} == 1 ]]; then
  find build/tests -maxdepth 1 -type f -name '*_test' -delete
fi

echo "== sanitizer build (ASan + UBSan) ($(free_disk) free)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCDI_SANITIZE=ON -DCDI_BUILD_BENCH=OFF -DCDI_BUILD_INTEGRATION_TESTS=OFF >/dev/null
cmake --build build-asan -j "$jobs"

echo "== unit tests (ASan + UBSan) ($(free_disk) free)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L unit -j "$jobs" --output-on-failure --timeout 900

echo "== fuzz smoke (libFuzzer, 15 s per harness) ($(free_disk) free)"
CDI_FUZZ_SEED=1 bash fuzz/run.sh 15
