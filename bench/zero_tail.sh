#!/usr/bin/env bash
# Cost of zeroing a block target past the image's end (security.md 5.1; issue 12): the three ways
# the importer can do it, on a loop device whose backing file holds old data everywhere.
#   BLKZEROOUT   ioctl, what target_sink and zero_block_device_past try first (blkdiscard -z)
#   ZERO_RANGE   fallocate(FALLOC_FL_ZERO_RANGE) on the device (fallocate -z), the first fallback
#   writes       plain O_DIRECT writes of zeros, 8 MiB each (dd oflag=direct), the last resort
# Each case: a fresh device of HEAD (the image) + TAIL bytes whose backing file is filled with
# 0xAA, then the tail zeroed and fsynced, timed; the tail is then checked to read back as zero.
# Usage: sudo bench/zero_tail.sh            (TAILS="1G 4G", HEAD=64M, DIR=/var/tmp/cdi-zero-tail)
# Needs root, losetup, util-linux blkdiscard and fallocate, coreutils dd/cmp.
set -euo pipefail
TAILS=${TAILS:-"1G 4G"}
HEAD=${HEAD:-64M}
DIR=${DIR:-/var/tmp/cdi-zero-tail}
[ "$(id -u)" = 0 ] || { echo "needs root (loop devices)" >&2; exit 1; }
mkdir -p "$DIR"
backing=$DIR/backing
dev=
cleanup() { [ -n "$dev" ] && losetup -d "$dev" 2>/dev/null; rm -f "$backing"; }
trap cleanup EXIT

bytes() { numfmt --from=iec "$1"; }
head_bytes=$(bytes "$HEAD")

printf '%-6s %-11s %9s %9s  %s\n' tail method seconds 'GiB/s' 'backing allocated after'
for tail in $TAILS; do
  tail_bytes=$(bytes "$tail")
  total=$((head_bytes + tail_bytes))
  for method in BLKZEROOUT ZERO_RANGE writes; do
    [ -n "$dev" ] && { losetup -d "$dev"; dev=; }
    rm -f "$backing"
    # Old data everywhere (allocated, not a hole): what another tenant left on the device.
    head -c "$total" /dev/zero | tr '\0' '\252' > "$backing"
    sync "$backing"
    dev=$(losetup --find --show --direct-io=on "$backing")
    start=$(date +%s.%N)
    case $method in
      BLKZEROOUT) blkdiscard -z -o "$head_bytes" -l "$tail_bytes" "$dev" ;;
      ZERO_RANGE) fallocate -z -o "$head_bytes" -l "$tail_bytes" "$dev" ;;
      writes) dd if=/dev/zero of="$dev" bs=8M seek="$head_bytes" count="$tail_bytes" \
                 iflag=count_bytes oflag=direct,seek_bytes conv=notrunc status=none ;;
    esac
    sync "$dev"
    end=$(date +%s.%N)
    # The tail reads back as zero (checked outside the timing).
    cmp -s -n "$tail_bytes" <(dd if="$dev" bs=8M skip="$head_bytes" iflag=skip_bytes status=none) /dev/zero ||
      { echo "$method: the tail of $dev does not read back as zero" >&2; exit 1; }
    secs=$(echo "$end - $start" | bc -l)
    printf '%-6s %-11s %9.2f %9.2f  %s\n' "$tail" "$method" "$secs" "$(echo "$tail_bytes / $secs / 1073741824" | bc -l)" \
      "$(du -h "$backing" | cut -f1)"
  done
done
