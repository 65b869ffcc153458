"""Micro-benchmark: websocket frame parsing cost per MiB, by message size.

Run by hand: ``.venv/bin/python benchmarks/bench_frames.py``.
Feeds one message of each size to ``FrameParser`` in 64 KiB reads (what the reader
does) and prints milliseconds per MiB, for a single frame and for the same message
cut into 16 fragments. Linear parsing shows as a flat column from 64 KiB to the
maximum message size; a parser that re-joins its buffer on every read grows with size.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # run from a checkout

from ccxtpro_sync._core.frames import DEFAULT_MAX_MESSAGE, FrameParser

READ = 64 * 1024
MiB = 1024 * 1024


def frame(payload: bytes, opcode: int, fin: bool) -> bytes:
    first = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        return first + bytes([n]) + payload
    if n < 65536:
        return first + bytes([126]) + n.to_bytes(2, "big") + payload
    return first + bytes([127]) + n.to_bytes(8, "big") + payload


def message(size: int, fragments: int) -> bytes:
    step = max(1, size // fragments)
    pieces = [b"x" * min(step, size - i) for i in range(0, size, step)]
    last = len(pieces) - 1
    return b"".join(
        frame(piece, 0x1 if i == 0 else 0x0, i == last) for i, piece in enumerate(pieces)
    )


def ms_per_mib(data: bytes, size: int, repeat: int) -> float:
    chunks = [data[i : i + READ] for i in range(0, len(data), READ)]
    best = float("inf")
    for _ in range(repeat):
        parser = FrameParser(DEFAULT_MAX_MESSAGE)
        started = time.perf_counter()
        for chunk in chunks:
            parser.feed(chunk)
        best = min(best, time.perf_counter() - started)
        assert parser.buffered() == 0
    return best * 1e3 / (size / MiB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = []
    size = 64 * 1024
    while size <= DEFAULT_MAX_MESSAGE:
        sizes.append(size)
        size *= 2
    print(f"{'message':>10}  {'1 frame ms/MiB':>15}  {'16 fragments ms/MiB':>20}")
    for size in sizes:
        single = ms_per_mib(message(size, 1), size, args.repeat)
        fragmented = ms_per_mib(message(size, 16), size, args.repeat)
        print(f"{size // 1024:>7} KiB  {single:>15.3f}  {fragmented:>20.3f}")


if __name__ == "__main__":
    main()
