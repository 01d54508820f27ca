#!/usr/bin/python3
"""Snappy framing-format DECODER for tests, independent of the encoder under test (cloner/).

Reads a framed stream on stdin, writes the data to stdout; every checksum verified, any violation of
https://github.com/google/snappy/blob/main/framing_format.txt exits 1 with the reason on stderr.
--stats FILE writes "identifier compressed uncompressed" chunk counts there. Uses Debian's
python3-snappy block decompressor and python3-crc32c only. Run with /usr/bin/python3.
"""
import argparse
import sys

import crc32c
import snappy

IDENTIFIER = b"\xff\x06\x00\x00sNaPpY"
MAX_BLOCK = 65536


def masked_crc(data: bytes) -> int:
    crc = crc32c.crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--stats", help="write the chunk counts to this file")
    args = p.parse_args()
    data = sys.stdin.buffer.read()
    if not data.startswith(IDENTIFIER):
        sys.exit("no stream identifier first")
    counts = {"identifier": 0, "compressed": 0, "uncompressed": 0}
    out = sys.stdout.buffer
    at = 0
    while at < len(data):
        if at + 4 > len(data):
            sys.exit(f"truncated chunk header at {at}")
        kind = data[at]
        length = int.from_bytes(data[at + 1:at + 4], "little")
        body = data[at + 4:at + 4 + length]
        if len(body) != length:
            sys.exit(f"truncated chunk at {at}")
        if kind == 0xFF:
            if body != b"sNaPpY":
                sys.exit(f"bad identifier at {at}")
            counts["identifier"] += 1
        elif kind in (0x00, 0x01):
            crc = int.from_bytes(body[:4], "little")
            block = snappy.uncompress(body[4:]) if kind == 0x00 else body[4:]
            if not 0 < len(block) <= MAX_BLOCK:
                sys.exit(f"chunk at {at} holds {len(block)} bytes")
            if masked_crc(block) != crc:
                sys.exit(f"checksum mismatch at {at}")
            counts["compressed" if kind == 0x00 else "uncompressed"] += 1
            out.write(block)
        elif kind < 0x80:
            sys.exit(f"reserved unskippable chunk {kind:#x} at {at}")
        at += 4 + length
    if args.stats:
        with open(args.stats, "w") as f:
            f.write(f"{counts['identifier']} {counts['compressed']} {counts['uncompressed']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
