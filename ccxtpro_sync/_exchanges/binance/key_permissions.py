"""``fetch_permissions()``: what the client's API key may do, as the exchange states it.

Spot keys ask ``GET /sapi/v1/account/apiRestrictions`` (Binance's wallet endpoint on the
spot host). Futures hosts have no ``/sapi``: there the signed ``account`` read stands in,
with its ``canTrade``/``canWithdraw`` flags (USD-M ``/fapi/v2/account``, COIN-M
``/dapi/v1/account``), and a successful read proves the key can read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import msgspec

from ..._exceptions import ProtocolError
from .rest_market import check_timeout

if TYPE_CHECKING:
    from .wire import Product

#: Permission names every exchange's ``fetch_permissions`` speaks (the preflight's
#: ``--require`` takes these).
PERMISSION_NAMES: Final = ("USER_DATA", "USER_STREAM", "TRADE", "FUTURES", "WITHDRAW")

_PATHS: Final[dict[str, tuple[str, int]]] = {
    "spot": ("/sapi/v1/account/apiRestrictions", 1),
    "usdm": ("/fapi/v2/account", 5),
    "coinm": ("/dapi/v1/account", 5),
}


@dataclass(frozen=True)
class KeyPermissions:
    """The permissions an API key has; ``info`` is the exchange's answer as sent."""

    granted: frozenset[str]
    info: Mapping[str, Any] = field(default_factory=dict)

    def missing(self, required: set[str] | frozenset[str]) -> list[str]:
        """The required names this key lacks, sorted."""
        return sorted(set(required) - self.granted)


def parse_permissions(product: str, body: bytes) -> KeyPermissions:
    """Binance's answer for ``product`` → :class:`KeyPermissions` (plain bytes in)."""
    try:
        info = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise ProtocolError(f"{_PATHS[product][0]}: response is not JSON") from error
    if not isinstance(info, dict):
        raise ProtocolError(f"{_PATHS[product][0]}: expected an object")
    granted: set[str] = set()
    if product == "spot":
        flags = {
            "enableReading": ("USER_DATA", "USER_STREAM"),
            "enableSpotAndMarginTrading": ("TRADE",),
            "enableFutures": ("FUTURES",),
            "enableWithdrawals": ("WITHDRAW",),
        }
        for flag, names in flags.items():
            if info.get(flag) is True:
                granted.update(names)
    else:
        granted.update(("USER_DATA", "USER_STREAM", "FUTURES"))  # the signed read worked
        if info.get("canTrade") is True:
            granted.add("TRADE")
        if info.get("canWithdraw") is True:
            granted.add("WITHDRAW")
    return KeyPermissions(frozenset(granted), info)


class BinanceKeyPermissions:
    """Mixed into ``binance``; uses its signed REST plumbing."""

    if TYPE_CHECKING:
        product: Product
        timeout: float

        def _rest_get(
            self,
            path: str,
            params: Mapping[str, Any] | None,
            weight: int,
            timeout: float,
            *,
            signed: bool = False,
        ) -> bytes: ...

    def fetch_permissions(self, *, timeout: float | None = None) -> KeyPermissions:
        """The API key's permissions as the exchange states them (a signed read).

        ``granted`` holds names from ``USER_DATA``, ``USER_STREAM``, ``TRADE``,
        ``FUTURES``, ``WITHDRAW``; ``info`` is the raw answer.
        """
        seconds = check_timeout(timeout, self.timeout)
        path, weight = _PATHS[self.product]
        return parse_permissions(
            self.product, self._rest_get(path, None, weight, seconds, signed=True)
        )


__all__ = ["PERMISSION_NAMES", "BinanceKeyPermissions", "KeyPermissions", "parse_permissions"]
