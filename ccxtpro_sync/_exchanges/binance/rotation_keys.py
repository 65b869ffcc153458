"""Which number orders each Binance market stream, for dedupe across a rotation.

Diff depth and spot book tickers carry the last update id ``u`` (a diff covers
``U``..``u``, so the update before it ended at ``U - 1``, or at ``pu`` on futures); aggregate trades
their id ``a``; trades ``t``; everything else is ordered by event time ``E``
(tickers, mark prices, klines); two distinct updates may share an event time, so
those keys come with a digest of the payload and only an identical one is a repeat.
"""

from __future__ import annotations

import msgspec


class _U(msgspec.Struct, gc=False):
    u: int | None = None
    U: int | None = None
    pu: int | None = None
    E: int | None = None


class _A(msgspec.Struct, gc=False):
    a: int | None = None


class _T(msgspec.Struct, gc=False):
    t: int | None = None


class _E(msgspec.Struct, gc=False):
    E: int | None = None


# Only the key field is typed: other fields of the same letter (a ticker's ``a`` is
# a price) are never decoded through the wrong struct.
_decode_u = msgspec.json.Decoder(_U).decode
_decode_a = msgspec.json.Decoder(_A).decode
_decode_t = msgspec.json.Decoder(_T).decode
_decode_e = msgspec.json.Decoder(_E).decode


Key = tuple[int | None, int | None, int | None]


def update_key(stream: str, data: msgspec.Raw | bytes) -> Key:
    """The ordering key of one payload of ``stream`` (None when it has none: kept);
    for event-time keys, which distinct updates may share, a digest of it; and for a
    diff covering several ids, the key the update before it ended at (``prev`` of
    ``DeliveredKeys.offer``)."""
    try:
        if "@depth" in stream or "@bookTicker" in stream:
            u = _decode_u(data)
            if u.u is None:
                return u.E, hash(bytes(data)), None
            if u.pu is not None:
                return u.u, None, u.pu
            return u.u, None, None if u.U is None else u.U - 1
        if "@aggTrade" in stream:
            return _decode_a(data).a, None, None
        if "@trade" in stream:
            return _decode_t(data).t, None, None
        return _decode_e(data).E, hash(bytes(data)), None
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, None, None  # the router reports malformed payloads
