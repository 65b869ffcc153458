"""Seeded hostile trade events for ``_trade_build.c``, and the comparison of its Trade
with the Python path's (``parsers.public_trade``): the same fields bit for bit, or
None from the builder exactly where the Python path raises (then that error is the
result), or the same error from both.

Numbers: digit runs of every length with the point anywhere (the exact fast path's
limits: 2**53, 22 decimals), 15-17 significant digits, exponents, signs, leading
zeros, subnormals, overflow, NaN and infinities, underscores, spaces, Unicode digits,
embedded NUL, 128-character texts. Ids and times at the 64-bit limits and past them,
every second boundary, side flags that are not bools, and events of other types with
the same fields.
"""

from __future__ import annotations

import random
import struct
from typing import Any

import msgspec

from ccxtpro_sync._exchanges.binance import parsers
from ccxtpro_sync._exchanges.binance import wire as w
from ccxtpro_sync._numbers import finite_float
from ccxtpro_sync._structures import _MAX_MS, Market, Trade

_EDGES = [
    "0", "-0", "+0", "0.0", "-0.0", "+1", ".5", "5.", "00001.50", "1e308", "1.7976931348623157e308",
    "1.7976931348623159e308", "1e309", "1e-320", "4.9e-324", "2.4e-324", "2.5e-324", "1e-400",
    "nan", "-nan", "NaN", "inf", "-inf", "Infinity", "infinit", "1_0", "_1", "1__0", "1_.5",
    " 7", "7\t", "\u00a07", "\u0661\u0662", "\uff11.5", "1\x00", "\x001", "", ".", "-", "e1", "1e",
    "1e+", "0x1p3", "9007199254740992", "9007199254740993", "9007199254740994",
    "900719925474099.3", "0.9007199254740993", "1" + "0" * 22, "1" + "0" * 23,
    "0." + "0" * 21 + "1", "0." + "0" * 22 + "1", "1" * 128, "0." + "0" * 125 + "1",
    "9" * 17, "0.1000000000000000055511151231257827", "123456789012345678", "1.0" + "0" * 40,
    "\ud800", "1.5\u2028",
]  # fmt: skip

_TIMES = [
    0, 999, 1000, 59_999, 60_000, 3_599_999, 86_399_999, 86_400_000, 951_782_400_000,
    4_102_444_800_000, _MAX_MS - 1, _MAX_MS, _MAX_MS + 1, 2**63 - 1, 2**63, 2**64, -1, -1000,
    -(2**63), -(2**64),
]  # fmt: skip

_IDS = [0, 1, 10**18 - 1, 10**18, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**200, -1, -(2**63)]


def number(rng: random.Random) -> Any:
    """A price or quantity text (now and then not a text at all)."""
    roll = rng.random()
    if roll < 0.3:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
        point = rng.randint(0, len(digits))
        return digits[:point] + ("." if rng.random() < 0.8 else "") + digits[point:]
    if roll < 0.45:
        return "".join(
            rng.choice("0123456789.eE+-_ \x00n\u0661i") for _ in range(rng.randint(0, 12))
        )
    if roll < 0.6:
        bits = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        return repr(bits)
    if roll < 0.7:
        return f"{rng.random() * 10.0 ** rng.randint(-25, 25):.{rng.randint(0, 20)}g}"
    if roll < 0.97:
        return rng.choice(_EDGES)
    return rng.choice([1.5, b"1", None, 7])


def event(rng: random.Random) -> Any:
    """A trade event: mostly a decoded one's types, sometimes not."""
    trade_id = rng.choice([*_IDS, rng.getrandbits(rng.randint(1, 70))])
    if rng.random() < 0.2:
        ts = rng.choice(_TIMES)
    else:
        ts = rng.randrange(0, _MAX_MS + 1)
        ts -= ts % 1000 if rng.random() < 0.3 else 0  # a second boundary
    maker = rng.choice([True, False, True, False, 1, 0, None])
    if rng.random() < 0.03:
        trade_id = rng.choice(["1", 1.0, True])
    if rng.random() < 0.03:
        ts = rng.choice([1.0, True, "1"])
    fields = {"price": number(rng), "quantity": number(rng), "trade_time": ts}
    fields["buyer_is_maker"] = maker
    if rng.random() < 0.5:
        return w.AggTradeEvent(
            event_type="aggTrade", event_time=1, symbol="BNBBTC", agg_trade_id=trade_id,
            first_trade_id=1, last_trade_id=1, **fields,
        )  # fmt: skip
    return w.TradeEvent(
        event_type="trade", event_time=1, symbol="BNBBTC", trade_id=trade_id, **fields
    )


def _fields(trade: Any) -> list[tuple[str, str, Any]]:
    """A Trade's fields, floats as their bits (so -0.0 is not 0.0), info as identity."""
    out: list[tuple[str, str, Any]] = []
    for name, value in msgspec.structs.asdict(trade).items():
        shown: Any = value
        if isinstance(value, float):
            shown = ("float", struct.pack("<d", value))
        elif name == "info":
            shown = id(value)
        out.append((name, type(value).__name__, shown))
    return out


def _outcome(call: Any) -> Any:
    try:
        return _fields(call())
    except Exception as error:  # the error is the result compared
        return ("error", type(error).__name__, str(error))


def compare_trade(build: Any, seed: int, market: Market) -> list[str]:
    """The mismatches between the builder and the Python path for one seeded event."""
    rng = random.Random(seed)
    ev = event(rng)
    trade_id = ev.agg_trade_id if isinstance(ev, w.AggTradeEvent) else ev.trade_id
    want = _outcome(lambda: parsers.public_trade(trade_id, ev, market, finite_float))
    try:
        built = build(ev, market.symbol, not market.contract)
    except Exception as error:  # must be the Python path's error too
        got: Any = ("error", type(error).__name__, str(error))
    else:
        if built is None:  # the Python path decides: for a decoded event's types, it refuses
            decoded = (type(trade_id), type(ev.trade_time), type(ev.price), type(ev.quantity))
            if decoded != (int, int, str, str) or type(ev.buyer_is_maker) is not bool:
                return []
            return [] if want[0] == "error" else [f"seed {seed}: None for {ev!r}"]
        if type(built) is not Trade or (built.cost is not None and market.contract):
            return [f"seed {seed}: {type(built)} with cost {built.cost!r}"]
        if market.contract:  # the handler sets a contract's cost
            built.cost = parsers._cost(built.price, built.amount, market)
        got = _fields(built)
    return [] if got == want else [f"seed {seed}: {got!r} != {want!r} for {ev!r}"]
