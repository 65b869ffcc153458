"""Stream entry ids derived from exchange data, so writes are idempotent.

Redis refuses an ``XADD`` whose explicit id is not above the stream's newest. When
every collector derives the id of an update from the exchange's own data, the same
update gets the same id in every collector, and a standby that takes over (or a
paused collector that wakes up) cannot write it a second time. Ids are
``<ms>-<seq>``; both parts come from the payload, never from a local counter, which
would differ between collectors. ``"*"`` (Redis chooses) is returned only when the
payload lacks the data; such entries are never buffered by a standby.

Pure functions, no I/O.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from typing import Any

import msgspec

from .._numbers import ascii_int
from .._structures import OHLCV, Ticker, Trade, _plain, _stored_info

__all__ = ["candle_entry_id", "ticker_entry_id", "trade_entry_id"]

#: Redis's id parts are unsigned 64-bit integers.
_U64 = (1 << 64) - 1


def trade_entry_id(trade: Trade) -> str:
    """``<trade id>-1``; ``*`` when the id is not a number."""
    tid = trade.id
    number = None if tid is None else ascii_int(str(tid))
    return "*" if number is None else f"{number}-1"


def _info_int(info: Any, attribute: str, key: str) -> int | None:
    # ``info`` is the wire struct in a live collector, a plain mapping elsewhere.
    value = info.get(key) if isinstance(info, Mapping) else getattr(info, attribute, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def ticker_entry_id(ticker: Ticker) -> str:
    """``<event time E>-<last trade id L + 1>`` of a 24 h ticker.

    Tickers of one symbol come in event-time order; two in the same millisecond are
    told apart by the last trade id (``L`` is -1 before any trade, hence ``+ 1``).
    """
    # As stored: a streamed ticker's undecoded payload is read as its JSON object (its
    # strict decode, ``ticker.info``, refuses a payload only the lax decode took).
    info = _stored_info(ticker)
    if type(info) is msgspec.Raw:
        info = _plain(info)
    event_time = _info_int(info, "event_time", "E")
    if event_time is None or not 0 < event_time <= _U64:
        return "*"
    last = _info_int(info, "last_trade_id", "L")
    seq = last + 1 if last is not None and -1 <= last < _U64 else 0
    return f"{event_time}-{seq}"


def _ordered_bits(value: float) -> int:
    """An integer that orders like ``value`` (>= 0): its IEEE-754 bit pattern."""
    value += 0.0  # -0.0 → 0.0
    return int(struct.unpack("<Q", struct.pack("<d", value))[0])


def candle_entry_id(candle: OHLCV) -> str:
    """``<open time>-<volume as ordered bits>`` of a candle update.

    Within one candle every trade raises the volume, and nothing else changes without
    a trade, so the volume orders the candle's distinct updates; an update with the
    same volume carries the same values and is refused as a repeat. The bit pattern
    of a non-negative double is an integer with the same order as the number, exact
    and below 2**63, whatever the volume's magnitude (``Decimal`` volumes are taken
    as the nearest double). The next candle's open time is higher, so ids grow.
    """
    volume = candle.volume
    if volume is None or not 0 < candle.timestamp <= _U64:
        return "*"
    number = float(volume)
    if not math.isfinite(number) or number < 0:
        return "*"
    return f"{candle.timestamp}-{_ordered_bits(number)}"
