"""Seeded hostile inputs for ``_frame_scan.c`` and ``_book_levels.c``, and the
comparison of each with its Python version (same result, or the same error).

Books: float, Decimal and int prices, NaN, infinities, -0.0, strings, levels of the
wrong arity, and subclasses of ``float``/``list`` whose comparisons, negation, truth
test or ``__index__`` run code that changes the very side being updated (or raise).
Frames: random and adversarial byte streams (fragments with control frames between
them, 126/127 length forms with huge or non-minimal lengths, masks, reserved bits,
zero lengths) cut into reads at random places or at every byte.
"""

from __future__ import annotations

import gc
import math
import random
import struct
from decimal import Decimal
from types import ModuleType
from typing import Any

from ccxtpro_sync import _book_levels_py
from ccxtpro_sync._core import frames

# ---------------------------------------------------------------------------- books

#: The side a hostile object acts on while one implementation runs.
_target: list[list[Any]] = [[], []]

ACTIONS = ("none", "none", "none", "clear", "shrink_keys", "shrink_amounts", "grow", "raise", "gc")


def _act(action: str) -> None:
    keys, amounts = _target
    if action == "clear":
        del keys[:]
        del amounts[:]
    elif action == "shrink_keys":
        del keys[len(keys) // 2 :]
    elif action == "shrink_amounts":
        del amounts[len(amounts) // 2 :]
    elif action == "grow":
        keys.insert(0, -1e300)
        amounts.insert(0, 1.0)
        keys.append(1e300)
        amounts.append(1.0)
    elif action == "raise":
        raise ValueError("hostile")
    elif action == "gc":
        gc.collect(0)  # the youngest generation: cheap, and it runs finalizers


class Script:
    """What the n-th call of a hostile method does; one per generated case."""

    def __init__(self, rng: random.Random) -> None:
        self.plan = [rng.choice(ACTIONS) for _ in range(rng.randrange(1, 40))]
        self.calls = 0

    def step(self) -> None:
        action = self.plan[self.calls % len(self.plan)]
        self.calls += 1
        _act(action)


class EvilFloat(float):
    """A float whose every comparison, negation and truth test runs the script."""

    script: Script

    def _go(self) -> None:
        self.script.step()

    def __lt__(self, other: Any) -> Any:
        self._go()
        return float(self) < other

    def __ge__(self, other: Any) -> Any:
        self._go()
        return float(self) >= other

    def __eq__(self, other: Any) -> Any:
        self._go()
        return float(self) == other

    def __hash__(self) -> int:
        return float.__hash__(self)

    def __neg__(self) -> Any:
        self._go()
        out = EvilFloat(-float(self))
        out.script = self.script
        return out

    def __bool__(self) -> bool:
        self._go()
        return float(self) != 0.0


class EvilList(list[Any]):
    """A level that is a list subclass (never the fast unpacking path)."""

    script: Script

    def __iter__(self) -> Any:
        self.script.step()
        return super().__iter__()


class EvilIndex:
    """An ``n`` for ``top_levels`` whose ``__index__`` changes the side."""

    def __init__(self, script: Script, value: int) -> None:
        self.script = script
        self.value = value

    def __index__(self) -> int:
        self.script.step()
        return self.value


def _number(rng: random.Random, script: Script, kind: str) -> Any:
    ticks = rng.randrange(1, 25)
    roll = rng.random()
    if roll < 0.04:
        return rng.choice([math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, 5e-324])
    if roll < 0.06:
        return rng.choice(["abc", "1.5", None, b"1", complex(1, 1), [1.0]])
    if kind == "decimal":
        return Decimal(ticks) / 4
    if kind == "mixed":
        return rng.choice([ticks, float(ticks), Decimal(ticks), True])
    if kind == "evil" and rng.random() < 0.5:
        out = EvilFloat(ticks / 4)
        out.script = script
        return out
    return ticks / 4


def _level(rng: random.Random, script: Script, kind: str) -> Any:
    price = _number(rng, script, kind)
    amount = _number(rng, script, kind) if rng.random() < 0.7 else rng.choice([0.0, -0.0, 0])
    roll = rng.random()
    if roll < 0.03:
        return rng.choice([(price,), (price, amount, amount), 7, None, "ab", iter([price])])
    if kind == "evil" and roll < 0.15:
        level = EvilList([price, amount])
        level.script = script
        return level
    return [price, amount] if roll < 0.5 else (price, amount)


#: Doubles a packed diff may carry besides ordinary prices.
_PACKED = [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, 1e308, -1.0]


def book_case(seed: int) -> dict[str, Any]:
    """A side (fresh objects every call) and the diffs and views to apply to it."""
    rng = random.Random(seed)
    kind = rng.choice(["float", "decimal", "mixed", "evil", "evil"])
    script = Script(rng)
    neg = rng.random() < 0.5
    keys: list[Any] = sorted({rng.randrange(1, 25) / 4 for _ in range(rng.randrange(0, 12))})
    if neg:
        keys = sorted(-k for k in keys)
    if kind == "evil":
        evil = []
        for k in keys:
            e = EvilFloat(k)
            e.script = script
            evil.append(e if rng.random() < 0.5 else k)
        keys = evil
    amounts: list[Any] = [float(rng.randrange(1, 5)) for _ in keys]
    bound = rng.choice([None, None, keys[0] if keys else None, 3.0, -3.0])
    limit = rng.choice([None, None, 1, 3, 8])
    diffs: list[Any] = [
        [_level(rng, script, kind) for _ in range(rng.randrange(0, 10))]
        for _ in range(rng.randrange(1, 6))
    ]
    # Packed pairs (pack_levels' bytes) among them, from their own generator so the
    # cases above stay what they were: the C loop's double path, and its generic one
    # where a key (an EvilFloat, a Decimal) or the bound is not an exact float.
    packing = random.Random(f"packed-{seed}")
    for _ in range(packing.randrange(0, 3)):
        numbers = [
            packing.choice(_PACKED) if packing.random() < 0.3 else packing.randrange(-25, 25) / 4
            for _ in range(2 * packing.randrange(0, 8))
        ]
        packed = struct.pack(f"{len(numbers)}d", *numbers)
        if packing.random() < 0.1:
            packed = packed[: packing.randrange(len(packed) + 1)]  # maybe a broken length
        diffs.insert(packing.randrange(len(diffs) + 1), packed)
    n_views: list[Any] = [None, 0, 2, -1, 100, rng.choice([1.5, "2", 2**70, -(2**70)])]
    if kind == "evil":
        n_views.append(EvilIndex(script, rng.randrange(-3, 6)))
    return {
        "keys": keys,
        "amounts": amounts,
        "bound": bound,
        "neg": neg,
        "limit": limit,
        "diffs": diffs,
        "views": n_views,
    }


def _exact(x: Any) -> tuple[str, str]:
    if isinstance(x, float) and not math.isnan(x):
        return (type(x).__name__, float(x).hex())
    return (type(x).__name__, repr(x))


def _error(error: BaseException) -> tuple[str, str]:
    return (type(error).__name__, str(error))


def run_book(module: ModuleType, seed: int) -> list[Any]:
    """Everything ``module`` gives for case ``seed``: states, views and errors."""
    case = book_case(seed)
    keys, amounts, bound = case["keys"], case["amounts"], case["bound"]
    _target[:] = [keys, amounts]
    out: list[Any] = []
    try:
        for levels in case["diffs"]:
            try:
                bound = module.apply_levels(
                    keys, amounts, bound, case["neg"], case["limit"], levels
                )
                out.append("ok")
            except Exception as error:
                out.append(_error(error))
            out.append(([_exact(k) for k in keys], [_exact(a) for a in amounts], _exact(bound)))
            for n in case["views"]:
                try:
                    view = module.top_levels(keys, amounts, n, case["neg"])
                    out.append([[_exact(p), _exact(q)] for p, q in view])
                except Exception as error:
                    out.append(_error(error))
    finally:
        _target[:] = [[], []]
    return out


def compare_book(compiled: ModuleType, seed: int) -> tuple[list[Any], list[Any]]:
    return run_book(compiled, seed), run_book(_book_levels_py, seed)


# --------------------------------------------------------------------------- frames


def _frame(rng: random.Random) -> bytes:
    kind = rng.choice(["text", "text", "text", "fragmented", "control", "odd", "garbage"])
    if kind == "garbage":
        return rng.randbytes(rng.randrange(1, 16))
    if kind == "fragmented":
        parts = []
        pieces = rng.randrange(1, 5)
        for i in range(pieces):
            first = (0x01 if i == 0 else 0x00) | (0x80 if i == pieces - 1 else 0)
            parts.append(_header(rng, first, rng.randrange(0, 140)))
            if rng.random() < 0.4:  # a control frame between fragments
                parts.append(_header(rng, rng.choice([0x89, 0x8A]), rng.randrange(0, 126)))
        return b"".join(parts)
    if kind == "control":
        first = rng.choice([0x88, 0x89, 0x8A, 0x09, 0x8B, 0x8F])
        return _header(rng, first, rng.choice([0, 1, 125, 126, 200]))
    if kind == "odd":
        first = rng.choice([0x82, 0x83, 0xC1, 0xA1, 0x91, 0x01, 0x00, 0x80, 0xF1])
        return _header(rng, first, rng.randrange(0, 300))
    return _header(rng, 0x81, rng.choice([0, 1, 125, 126, 127, 300, 65535, rng.randrange(0, 2000)]))


def _header(rng: random.Random, first: int, size: int) -> bytes:
    masked = rng.random() < 0.03
    mask = 0x80 if masked else 0
    form = rng.random()
    if size < 126 and form < 0.7:
        head = bytes([first, mask | size])
    elif size <= 0xFFFF and form < 0.9:
        head = bytes([first, mask | 126]) + size.to_bytes(2, "big")  # maybe non-minimal
    else:
        head = bytes([first, mask | 127]) + size.to_bytes(8, "big")
    if rng.random() < 0.02:  # a huge announced length, payload never sent in full
        huge = rng.choice([2**63 - 1, 2**64 - 1, 2**63, 0xFFFF, 2**32])
        head = bytes([first, mask | 127]) + huge.to_bytes(8, "big")
    body = (b"\x00\x01\x02\x03" if masked else b"") + rng.randbytes(size)
    return head + body


def frame_case(seed: int) -> tuple[bytes, list[int], int]:
    rng = random.Random(seed)
    stream = b"".join(_frame(rng) for _ in range(rng.randrange(1, 10)))
    if rng.random() < 0.1:
        cuts = list(range(1, len(stream)))  # every byte its own read
    else:
        cuts = sorted(rng.randrange(0, len(stream) + 1) for _ in range(rng.randrange(0, 8)))
    limit = rng.choice([125, 126, 200, 1000, 65535, 65536, frames.DEFAULT_MAX_MESSAGE, 2**70])
    return stream, cuts, limit


def run_frames(seed: int, scan: frames.TextScan | None) -> list[Any]:
    stream, cuts, limit = frame_case(seed)
    saved = frames.text_scan
    frames.text_scan = scan
    try:
        parser = frames.FrameParser(max_message=limit)
        out: list[Any] = []
        last = 0
        for cut in [*cuts, len(stream)]:
            try:
                out.append(parser.feed(stream[last:cut]))
            except frames.FrameError as error:
                out.append(_error(error))
                break
            last = cut
        out.append((parser.pending(), parser.buffered()))
        return out
    finally:
        frames.text_scan = saved


def scan_direct(scan: frames.TextScan, seed: int) -> None:
    """The C scan called straight on random buffers and positions: it must only ever
    read inside the buffer (the sanitizer run checks that) and agree with itself."""
    rng = random.Random(seed)
    buffer = frame_case(seed)[0]
    for _ in range(8):
        pos = rng.randrange(0, len(buffer) + 1)
        limit = rng.choice([-1, 0, 125, 65535, 2**62, 2**70])
        out: list[tuple[int, bytes]] = []
        end = scan(buffer, pos, limit, out)
        assert pos <= end <= len(buffer)
        assert sum(len(p) for _, p in out) <= end - pos
