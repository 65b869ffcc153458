"""Recording tickers whose ``info`` a float client keeps undecoded (``msgspec.Raw``).

The one-decode ticker path accepts payloads that only a lax decode takes (a number
sent as a JSON number, ``"c":16602.26``): the ticker's values are right, but reading
``ticker.info`` decodes the payload strictly and raises ``ProtocolError``. The
recorder must store such a ticker's payload as ``ticker["info"]`` gives it, not stop
its writer (which would fail every batch queued behind it)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market
from ccxtpro_sync.persistence import Recorder

from .support import rows

TICKER = {"e": "24hrTicker", "E": 1672515782136, "s": "BTCUSDT", "p": "-93.49", "P": "-0.560",
          "w": "16627.4", "x": "16695.76", "c": "16602.26", "Q": "0.0067", "b": "16602.25",
          "B": "0.0569", "a": "16602.26", "A": "0.2922", "o": "16695.75", "h": "16773.18",
          "l": "16497.77", "v": "159435.48", "q": "2651010617.38", "O": 0, "C": 86400000,
          "F": 1, "L": 2, "n": 2}  # fmt: skip


def _streamed_ticker(payload: dict[str, Any]) -> Any:
    """The ticker a float spot client's ``btcusdt@ticker`` handler makes of ``payload``."""
    raw = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
           "filters": []}  # fmt: skip
    data = MarketData(Markets([parse_market(raw, "spot", float)], "spot", number=float))
    (delivery,) = data.route("btcusdt@ticker", msgspec.Raw(json.dumps(payload).encode()), 0.0)
    return delivery.value


def test_a_ticker_whose_info_only_the_lax_decode_takes_is_recorded(tmp_path: Any) -> None:
    lax = {**TICKER, "c": 16602.26}  # a JSON number where Binance sends a string
    odd = _streamed_ticker(lax)
    assert odd.last == 16602.26 and odd["info"] == lax
    with pytest.raises(ProtocolError):
        odd.info  # noqa: B018  (the strict decode of the payload refuses it)
    good = _streamed_ticker({**TICKER, "C": 86400001})
    url = f"sqlite:///{tmp_path / 'tickers.sqlite'}"
    recorder = Recorder(None, url, exchange="test", markets=False, raw=False, streams=())
    context = {"exchange": "test"}
    try:
        assert recorder.offer("tickers", [odd], context)
        assert recorder.offer("tickers", [good], context)
        assert recorder.flush(timeout=30), recorder.error
    finally:
        report = recorder.close()
    assert recorder.error is None and report.written == {"tickers": 2}
    stored = rows(url, "SELECT timestamp, info FROM tickers ORDER BY timestamp")
    infos = [json.loads(info) if isinstance(info, str) else info for _, info in stored]
    assert [ts for ts, _ in stored] == [86400000, 86400001]
    assert infos == [lax, {**TICKER, "C": 86400001}]


def test_a_funding_rate_whose_info_only_the_lax_decode_takes_is_recorded(tmp_path: Any) -> None:
    from tests.unit.test_ticker_one_decode import UM_MARK, _streamed_mark

    lax = {**UM_MARK, "r": 0.00038167}  # a JSON number where Binance sends a string
    _, funding = _streamed_mark("usdm", lax)
    assert funding.fundingRate == 0.00038167 and funding["info"] == lax
    with pytest.raises(ProtocolError):
        funding.info  # noqa: B018
    url = f"sqlite:///{tmp_path / 'funding.sqlite'}"
    recorder = Recorder(None, url, exchange="test", markets=False, raw=False, streams=())
    try:
        assert recorder.offer("funding_rates", [funding], {"exchange": "test"})
        assert recorder.flush(timeout=30), recorder.error
    finally:
        report = recorder.close()
    assert recorder.error is None and report.written == {"funding_rates": 1}
    [(info,)] = rows(url, "SELECT info FROM funding_rates")
    assert (json.loads(info) if isinstance(info, str) else info) == lax
