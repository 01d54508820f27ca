#!/usr/bin/env bash
# Makes the bundled sample image from bytes in the repository: a 64 MiB ext4 filesystem holding the
# project's README and docs, as a qcow2, xz-compressed (multi-block, so the MT decoder has work).
# Usage: scripts/make-sample.sh OUT_DIR   → OUT_DIR/sample.qcow2.xz and OUT_DIR/sample.raw (reference)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: make-sample.sh OUT_DIR}
mkdir -p "$out"
content=$(mktemp -d)
trap 'rm -rf "$content"' EXIT
cp "$repo/README.md" "$content/"
cp -r "$repo/docs" "$content/docs"
printf 'cdi-dataplane sample disk\n' > "$content/hello.txt"

rm -f "$out/sample.raw" "$out/sample.qcow2" "$out/sample.qcow2.xz"
truncate -s 64M "$out/sample.raw"
mkfs.ext4 -q -F -L cdi-sample -U 5a3b0c1e-0000-4000-8000-000000000001 -E hash_seed=5a3b0c1e-0000-4000-8000-000000000002 \
  -d "$content" "$out/sample.raw"
qemu-img convert -f raw -O qcow2 "$out/sample.raw" "$out/sample.qcow2"
xz -T2 --block-size=1MiB -k -c "$out/sample.qcow2" > "$out/sample.qcow2.xz"
rm -f "$out/sample.qcow2"
