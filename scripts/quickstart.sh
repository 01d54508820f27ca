#!/usr/bin/env bash
# The README's first command: set up, build, and import the bundled sample image (a qcow2,
# xz-compressed, made from bytes in this repository) into a temporary target the way the importer
# pod does, then show what landed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target cdi-importer -j "$(nproc)"

work=$(mktemp -d /var/tmp/cdi-quickstart-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data" "$work/scratch"
bash scripts/make-sample.sh "$work/src" >/dev/null
echo "== sample: $(ls -l "$work/src/sample.qcow2.xz" | awk '{print $5}') bytes of qcow2.xz"

status=0
echo "== running cdi-importer (file source, content kubevirt, 128Mi requested, scratch mounted)"
env IMPORTER_SOURCE=file IMPORTER_ENDPOINT="file://$work/src/sample.qcow2.xz" IMPORTER_CONTENTTYPE=kubevirt \
    IMPORTER_IMAGE_SIZE=128Mi FILESYSTEM_OVERHEAD=0.055 \
    CDI_DATA_DIR="$work/data" CDI_SCRATCH_DIR="$work/scratch" CDI_TERMINATION_LOG="$work/termination-log" \
    build/importer/cdi-importer -v=1 -alsologtostderr || status=$?

echo "== exit status: $status"
[[ $status -eq 0 ]] || { echo "import failed: $(cat "$work/termination-log")"; exit 1; }
echo "== termination message: $(cat "$work/termination-log")"
echo "== target (allocated KiB, size):"
ls -ls "$work/data/disk.img"
qemu-img info -f raw "$work/data/disk.img" | sed -n '1,4p'
echo "== scratch after the job (empty): $(ls -A "$work/scratch" | wc -l) file(s)"
echo "== the first 64 MiB equal the original filesystem byte for byte:"
cmp -n $((64 << 20)) "$work/data/disk.img" "$work/src/sample.raw" && echo "   identical"
echo "== files inside the imported filesystem:"
debugfs -R 'ls -l /' "$work/data/disk.img" 2>/dev/null | sed 's/^/   /'
