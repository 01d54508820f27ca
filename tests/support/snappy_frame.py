#!/usr/bin/python3
"""Snappy framing-format ENCODER for tests, independent of the decoder under test.

Reads stdin, writes the framed stream to stdout
(https://github.com/google/snappy/blob/main/framing_format.txt): the stream identifier, then one
chunk per block of at most 65536 input bytes, each carrying the masked CRC-32C of its uncompressed
data. Uses Debian's python3-snappy block compressor and python3-crc32c only (the package's own
framing helpers crash on Python 3.11). Run with /usr/bin/python3.
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


def chunk(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "little") + body


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--block", type=int, default=MAX_BLOCK, help="input bytes per chunk (<= 65536)")
    p.add_argument("--uncompressed", action="store_true", help="emit every block as an uncompressed (0x01) chunk")
    p.add_argument("--mixed", action="store_true", help="alternate compressed and uncompressed chunks")
    p.add_argument("--padding", action="store_true", help="a padding (0xfe) chunk before every data chunk")
    p.add_argument("--skippable", action="store_true", help="a skippable (0x80) chunk before every data chunk")
    p.add_argument("--repeat-identifier", action="store_true", help="the stream identifier again mid-stream")
    p.add_argument("--corrupt-crc", type=int, metavar="N", help="flip a bit of data chunk N's checksum (0-based)")
    p.add_argument("--no-identifier", action="store_true", help="omit the leading stream identifier")
    args = p.parse_args()
    if not 0 < args.block <= MAX_BLOCK:
        p.error("--block must be 1..65536")

    data = sys.stdin.buffer.read()
    out = bytearray()
    if not args.no_identifier:
        out += IDENTIFIER
    for n, at in enumerate(range(0, len(data), args.block)):
        block = data[at:at + args.block]
        crc = masked_crc(block)
        if args.corrupt_crc == n:
            crc ^= 1
        uncompressed = args.uncompressed or (args.mixed and n % 2 == 1)
        payload = block if uncompressed else snappy.compress(block)
        if args.padding:
            out += chunk(0xFE, bytes(7))
        if args.skippable:
            out += chunk(0x80, b"skip me")
        if args.repeat_identifier and n == 1:
            out += IDENTIFIER
        out += chunk(0x01 if uncompressed else 0x00, crc.to_bytes(4, "little") + payload)
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
