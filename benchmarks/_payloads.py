"""Binance-shaped payloads for the benchmarks, built as bytes (spot shapes).

Every builder takes the symbol id (``BTCUSDT``) and an index ``i`` and returns one
payload; ``i`` is embedded where a consumer can read it back, so a benchmark knows
when the last message of a run has reached its callback:

* ``aggTrade``: ``a`` (the aggregate trade id, which both clients expose as the
  trade ``id``). The latency benchmarks put the send time in µs in ``f`` and ``l``
  (first and last trade id, kept in ``info``) and leave ``a`` consecutive: a client
  that fills gaps in trade ids would otherwise hold trades back;
* ``24hrTicker``: ``n`` (trade count, exposed in ``info``);
* ``24hrMiniTicker``: ``E`` (the ticker's ``timestamp``, ``BASE_MS + i``);
* ``bookTicker`` (spot): ``u`` (the book update id, exposed in ``info``);
* ``depthUpdate``: ``U``/``u`` (the book's ``nonce`` after it is applied);
* ``kline``: ``k.n``.
"""

from __future__ import annotations

#: Book grid used by the depth payloads and the REST snapshot.
MID_TICKS = 6_500_000  # 65000.00 with a 0.01 tick
BOOK_LEVELS = 100
DIFF_LEVELS = 10  # levels per side per diff, like a busy @depth@100ms event
BASE_MS = 1_700_000_000_000

_AGG = (
    b'{"e":"aggTrade","E":%d,"s":"%s","a":%d,"p":"%s","q":"%s","f":%d,"l":%d,'
    b'"T":%d,"m":%s,"M":true}'
)
_TICKER = (
    b'{"e":"24hrTicker","E":%d,"s":"%s","p":"-93.49000000","P":"-0.560",'
    b'"w":"16627.40450373","x":"16695.76000000","c":"%s","Q":"0.00670000",'
    b'"b":"%s","B":"0.05690000","a":"%s","A":"0.29220000",'
    b'"o":"16695.75000000","h":"16773.18000000","l":"16497.77000000","v":"159435.48210000",'
    b'"q":"2651010617.38939170","O":%d,"C":%d,"F":2429138451,"L":2431879131,"n":%d}'
)
_MINI_TICKER = (
    b'{"e":"24hrMiniTicker","E":%d,"s":"%s","c":"%s","o":"16695.75000000",'
    b'"h":"16773.18000000","l":"16497.77000000","v":"159435.48210000",'
    b'"q":"2651010617.38939170"}'
)
_BOOK_TICKER = b'{"u":%d,"s":"%s","b":"%s","B":"0.05690000","a":"%s","A":"0.29220000"}'
_DEPTH = b'{"e":"depthUpdate","E":%d,"s":"%s","U":%d,"u":%d,"b":[%s],"a":[%s]}'
_KLINE = (
    b'{"e":"kline","E":%d,"s":"%s","k":{"t":%d,"T":%d,"s":"%s","i":"1m","f":100,"L":%d,'
    b'"o":"0.00100000","c":"%s","h":"0.00250000","l":"0.00090000","v":"1000.00000000",'
    b'"n":%d,"x":false,"q":"1.00000000","V":"500.00000000","Q":"0.50000000","B":"0"}}'
)


def price(ticks: int) -> bytes:
    """A 0.01-tick price printed with Binance's 8 decimals."""
    return b"%d.%02d000000" % divmod(ticks, 100)


def agg_trade(symbol: bytes, i: int, stamp: int | None = None) -> bytes:
    """Aggregate trade ``i``; ``stamp`` (if given) goes in ``f`` and ``l``."""
    ms = BASE_MS + i
    first = i if stamp is None else stamp
    p = price(MID_TICKS + i % 997)
    q = b"0.%08d" % (1000 + i % 50_000)
    return _AGG % (ms, symbol, i, p, q, first, first, ms, b"true" if i & 1 else b"false")


def ticker(symbol: bytes, i: int) -> bytes:
    ms = BASE_MS + i
    last = MID_TICKS + i % 997
    return _TICKER % (ms, symbol, price(last), price(last - 1), price(last), ms - 86_400_000, ms, i)


def mini_ticker(symbol: bytes, i: int) -> bytes:
    return _MINI_TICKER % (BASE_MS + i, symbol, price(MID_TICKS + i % 997))


def book_ticker(symbol: bytes, i: int) -> bytes:
    bid = MID_TICKS + i % 997
    return _BOOK_TICKER % (i, symbol, price(bid), price(bid + 1))


def kline(symbol: bytes, i: int) -> bytes:
    ms = BASE_MS + i
    start = ms - ms % 60_000
    return _KLINE % (ms, symbol, start, start + 59_999, symbol, 100 + i, price(i % 997 + 100), i)


def _levels(i: int, side: int) -> bytes:
    """``DIFF_LEVELS`` levels near the top of one side; about one in seven is a removal."""
    out = []
    for k in range(DIFF_LEVELS):
        offset = 1 + (i * 7 + k * 5) % (BOOK_LEVELS // 2)
        ticks = MID_TICKS - offset if side == 0 else MID_TICKS + offset
        qty = 0 if (i + k) % 7 == 0 else 1 + (i * 13 + k) % 5000
        out.append(b'["%s","%d.%04d0000"]' % (price(ticks), *divmod(qty, 10_000)))
    return b",".join(out)


def depth_update(symbol: bytes, first: int, last: int) -> bytes:
    """A spot diff event ``U=first``, ``u=last`` (levels derived from ``last``)."""
    return _DEPTH % (BASE_MS + last, symbol, first, last, _levels(last, 0), _levels(last, 1))


def depth_snapshot(last_update_id: int) -> bytes:
    """The REST ``/api/v3/depth`` body matching the diff grid."""
    bids = b",".join(
        b'["%s","1.00000000"]' % price(MID_TICKS - k) for k in range(1, BOOK_LEVELS + 1)
    )
    asks = b",".join(
        b'["%s","1.00000000"]' % price(MID_TICKS + k) for k in range(1, BOOK_LEVELS + 1)
    )
    return b'{"lastUpdateId":%d,"bids":[%s],"asks":[%s]}' % (last_update_id, bids, asks)


def envelope(stream: bytes, payload: bytes) -> bytes:
    """The combined-stream (``/stream``) wrapping."""
    return b'{"stream":"%s","data":%s}' % (stream, payload)
