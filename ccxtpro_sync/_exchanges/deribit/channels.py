"""Unified streams ↔ Deribit channel names, and channel → message hash.

Channel names (protocol reference §6)::

    ticker.{instrument}.{interval}          watch_ticker(s)      ticker:<symbol>
    quote.{instrument}                      watch_bids_asks      bidask:<symbol>
    trades.{instrument}.{interval}          watch_trades         trades:<symbol>
    chart.trades.{instrument}.{resolution}  watch_ohlcv          ohlcv:<symbol>:<timeframe>
    book.{instrument}.{interval}            watch_order_book     orderbook:<symbol>
    user.orders.{instrument|kind.currency}.{interval}   orders (+ orders:<symbol>)
    user.trades.{instrument|kind.currency}.{interval}   myTrades (+ myTrades:<symbol>)
    user.portfolio.{currency}               balance
    user.changes.{instrument|kind.currency}.{interval}  positions (+ positions:<symbol>)

Message hashes are the Binance client's, so the router and the watch_* layer
treat both exchanges alike. Instrument names may contain dots
(``XRP_USDC-10APR26-1.35-C``), so names are parsed from both ends, never by
splitting on every dot. Intervals: ``raw`` (authenticated connections only),
``100ms``, ``agg2``; CCXT's defaults are ``100ms`` public and ``raw`` private.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ..._exceptions import BadRequest, InvalidArgument, ProtocolError
from .markets import DeribitMarkets

__all__ = [
    "INTERVALS",
    "KINDS",
    "MAX_CHANNELS_PER_CALL",
    "TIMEFRAMES",
    "Channel",
    "book_channel",
    "chart_channel",
    "message_hash",
    "parse_channel",
    "quote_channel",
    "rejected_channels",
    "subscribe_requests",
    "ticker_channel",
    "trades_channel",
    "user_changes_channel",
    "user_orders_channel",
    "user_portfolio_channel",
    "user_trades_channel",
]

INTERVALS: Final = ("raw", "100ms", "agg2")
#: Instrument kinds accepted in ``user.*.{kind}.{currency}`` channels.
KINDS: Final = ("any", "future", "option", "spot", "future_combo", "option_combo", "combo")
#: CCXT timeframe → Deribit chart resolution (minutes, or ``1D``). No 4h: Deribit has none.
TIMEFRAMES: Final = {
    "1m": "1",
    "3m": "3",
    "5m": "5",
    "10m": "10",
    "15m": "15",
    "30m": "30",
    "1h": "60",
    "2h": "120",
    "3h": "180",
    "6h": "360",
    "12h": "720",
    "1d": "1D",
}
_RESOLUTIONS: Final = {v: k for k, v in TIMEFRAMES.items()}
_PUBLIC_DEFAULT: Final = "100ms"
_PRIVATE_DEFAULT: Final = "raw"

_INTERVAL_RE = "(raw|100ms|agg2)"
_BOOK_RE: Final = re.compile(rf"book\.(.+)\.{_INTERVAL_RE}")
_BOOK_WINDOW_RE: Final = re.compile(rf"book\.(.+)\.(none|[0-9.]+)\.(1|10|20)\.{_INTERVAL_RE}")
_INTERVAL_TAIL_RE: Final = re.compile(rf"(ticker|trades)\.(.+)\.{_INTERVAL_RE}")
_CHART_RE: Final = re.compile(r"chart\.trades\.(.+)\.(1|3|5|10|15|30|60|120|180|360|720|1D)")
_USER_RE: Final = re.compile(rf"user\.(orders|trades|changes)\.(.+)\.{_INTERVAL_RE}")
_USER_HASH: Final = {"orders": "orders", "trades": "myTrades", "changes": "positions"}


def _interval(interval: str) -> str:
    if interval not in INTERVALS:
        raise InvalidArgument(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
    return interval


def _name(instrument: str) -> str:
    if not isinstance(instrument, str) or not instrument or any(c.isspace() for c in instrument):
        raise InvalidArgument(f"not a Deribit instrument name: {instrument!r}")
    return instrument


def ticker_channel(instrument: str, interval: str = _PUBLIC_DEFAULT) -> str:
    return f"ticker.{_name(instrument)}.{_interval(interval)}"


def quote_channel(instrument: str) -> str:
    return f"quote.{_name(instrument)}"


def trades_channel(instrument: str, interval: str = _PUBLIC_DEFAULT) -> str:
    return f"trades.{_name(instrument)}.{_interval(interval)}"


def chart_channel(instrument: str, timeframe: str) -> str:
    """``chart.trades.{instrument}.{resolution}``; an unsupported timeframe is ``BadRequest``."""
    resolution = TIMEFRAMES.get(timeframe)
    if resolution is None:
        raise BadRequest(
            f"deribit has no {timeframe!r} candles; timeframes: {', '.join(TIMEFRAMES)}"
        )
    return f"chart.trades.{_name(instrument)}.{resolution}"


def book_channel(instrument: str, interval: str = _PUBLIC_DEFAULT) -> str:
    """The incremental book channel (snapshot first, then chained changes)."""
    return f"book.{_name(instrument)}.{_interval(interval)}"


def _target(instrument: str | None, kind: str, currency: str) -> str:
    if instrument is not None:
        return _name(instrument)
    if kind not in KINDS:
        raise InvalidArgument(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not currency or not currency.replace("_", "").isalnum():
        raise InvalidArgument(f"not a Deribit currency: {currency!r}")
    return f"{kind}.{currency}"


def user_orders_channel(
    instrument: str | None = None,
    *,
    kind: str = "any",
    currency: str = "any",
    interval: str = _PRIVATE_DEFAULT,
) -> str:
    return f"user.orders.{_target(instrument, kind, currency)}.{_interval(interval)}"


def user_trades_channel(
    instrument: str | None = None,
    *,
    kind: str = "any",
    currency: str = "any",
    interval: str = _PRIVATE_DEFAULT,
) -> str:
    return f"user.trades.{_target(instrument, kind, currency)}.{_interval(interval)}"


def user_changes_channel(
    instrument: str | None = None,
    *,
    kind: str = "any",
    currency: str = "any",
    interval: str = _PRIVATE_DEFAULT,
) -> str:
    return f"user.changes.{_target(instrument, kind, currency)}.{_interval(interval)}"


def user_portfolio_channel(currency: str) -> str:
    """``user.portfolio.{currency}`` (CCXT sends upper case; so do we)."""
    _target(None, "any", currency)
    return f"user.portfolio.{currency.upper()}"


@dataclass(frozen=True, slots=True)
class Channel:
    """A parsed channel name.

    ``stream`` is the unified kind (``ticker``, ``bidask``, ``trades``, ``ohlcv``,
    ``orderbook``, ``orderbook_window``, ``orders``, ``myTrades``, ``balance``,
    ``positions``); ``instrument`` is set for per-instrument channels, ``currency``
    (and ``kind``) for ``user.*.{kind}.{currency}`` and portfolio channels.
    """

    stream: str
    instrument: str | None = None
    interval: str | None = None
    timeframe: str | None = None
    kind: str | None = None
    currency: str | None = None


def parse_channel(channel: str) -> Channel:
    """Parse a notification's channel; an unknown channel is a ``ProtocolError``."""
    if channel.startswith("quote."):
        return Channel("bidask", instrument=channel[len("quote.") :])
    if channel.startswith("chart."):
        found = _CHART_RE.fullmatch(channel)
        if found:
            return Channel("ohlcv", instrument=found[1], timeframe=_RESOLUTIONS[found[2]])
    elif channel.startswith("book."):
        window = _BOOK_WINDOW_RE.fullmatch(channel)
        if window:
            return Channel("orderbook_window", instrument=window[1], interval=window[4])
        found = _BOOK_RE.fullmatch(channel)
        if found:
            return Channel("orderbook", instrument=found[1], interval=found[2])
    elif channel.startswith("user."):
        if channel.startswith("user.portfolio."):
            return Channel("balance", currency=channel[len("user.portfolio.") :].upper())
        found = _USER_RE.fullmatch(channel)
        if found:
            stream = _USER_HASH[found[1]]
            target = found[2]
            head, dot, tail = target.partition(".")
            if dot and head in KINDS and "." not in tail:
                return Channel(stream, interval=found[3], kind=head, currency=tail)
            return Channel(stream, instrument=target, interval=found[3])
    else:
        found = _INTERVAL_TAIL_RE.fullmatch(channel)
        if found:
            return Channel(found[1], instrument=found[2], interval=found[3])
    raise ProtocolError(f"unknown deribit channel {channel[:80]!r}")


def message_hash(channel: Channel, markets: DeribitMarkets) -> str:
    """The message hash a channel's updates are delivered under.

    Per-instrument channels give the per-symbol hash; ``user.*`` channels for
    ``{kind}.{currency}`` give the account-wide hash (``orders``, ``myTrades``,
    ``positions``), and the parsers' items add ``<hash>:<symbol>`` each. An
    instrument the markets do not know is ``BadSymbol``.
    """
    stream = channel.stream
    if channel.instrument is None:
        return stream
    symbol = markets.by_id(channel.instrument).symbol
    if stream == "ohlcv":
        return f"ohlcv:{symbol}:{channel.timeframe}"
    if stream == "orderbook_window":
        return f"orderbook:{symbol}"
    return f"{stream}:{symbol}"


#: Channels per ``subscribe`` call (Deribit advises batches of about 500 at most).
MAX_CHANNELS_PER_CALL: Final = 500


def subscribe_requests(
    channels: list[str], *, private: bool, batch: int = MAX_CHANNELS_PER_CALL
) -> list[tuple[str, dict[str, list[str]]]]:
    """``(method, params)`` for subscribing to ``channels`` in batches.

    ``private/subscribe`` accepts public and private channels; ``public/subscribe``
    only public ones (a ``user.*`` channel there is an ``InvalidArgument``)."""
    if not 1 <= batch <= MAX_CHANNELS_PER_CALL:
        raise InvalidArgument(f"batch must be 1 to {MAX_CHANNELS_PER_CALL}")
    unique = list(dict.fromkeys(channels))
    if not private and any(c.startswith("user.") for c in unique):
        raise InvalidArgument("user.* channels need private/subscribe")
    method = "private/subscribe" if private else "public/subscribe"
    return [(method, {"channels": unique[i : i + batch]}) for i in range(0, len(unique), batch)]


def rejected_channels(requested: list[str], acknowledged: object) -> list[str]:
    """The requested channels a ``subscribe`` reply left out. Deribit drops a bad
    instrument, interval or depth silently (``"result": []``), so every reply
    must be compared with its request; a reply that is not a list of strings is
    a ``ProtocolError``."""
    if not isinstance(acknowledged, list) or not all(isinstance(c, str) for c in acknowledged):
        raise ProtocolError("deribit subscribe reply is not a list of channels")
    granted = set(acknowledged)
    return [c for c in requested if c not in granted]
