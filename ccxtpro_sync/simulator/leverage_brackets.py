"""Futures notional/leverage brackets (USER_DATA, weight 1), as Binance documents them.

* USD-M ``GET /fapi/v1/leverageBracket``: brackets by notional (``notionalCap``/
  ``notionalFloor``); a list of ``{symbol, brackets}``, or one object when ``symbol``
  is sent.
* COIN-M ``GET /dapi/v2/leverageBracket``: per symbol, by quantity (``qtyCap``/
  ``qtyFloor``), always a list.
* COIN-M ``GET /dapi/v1/leverageBracket``: per pair (``pair`` param), the older
  shape, whose floor field Binance spells ``qtylFloor``.

``notionalCoef`` is only shown when a user's brackets differ from the symbol's
default, which never happens here, so it is left out. Every symbol shares one
schedule per market; ``cum`` is the maintenance-amount offset that makes the
maintenance margin continuous across bracket edges.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from .auth import require, verify_rest
from .catalog import MarketName
from .engine import now_ms
from .order_input import symbol_of
from .rest import POOLS, ApiError, RestRequest

if TYPE_CHECKING:
    from .private import PrivateExchange

#: (initial leverage, cap, maintenance margin ratio); floors are the previous caps.
_USDM: Final = ((125, 50_000, "0.004"), (100, 600_000, "0.005"), (50, 3_000_000, "0.01"),
                (20, 12_000_000, "0.025"))  # fmt: skip
_COINM: Final = ((125, 5, "0.004"), (100, 10, "0.005"), (50, 20, "0.01"), (20, 50, "0.025"))


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def brackets(market: MarketName, floor_name: str) -> list[dict[str, Any]]:
    """The bracket list of ``market`` (cap/floor named by notional or by quantity)."""
    table = _USDM if market == "usdm" else _COINM
    cap_name = "notionalCap" if market == "usdm" else "qtyCap"
    out: list[dict[str, Any]] = []
    floor, cum, prev_ratio = Decimal(0), Decimal(0), Decimal(0)
    for level, (leverage, cap, ratio_text) in enumerate(table, 1):
        ratio = Decimal(ratio_text)
        cum += floor * (ratio - prev_ratio)
        out.append(
            {
                "bracket": level,
                "initialLeverage": leverage,
                cap_name: cap,
                floor_name: _number(floor),
                "maintMarginRatio": float(ratio),
                "cum": float(cum),
            }
        )
        floor, prev_ratio = Decimal(cap), ratio
    return out


def install(core: PrivateExchange) -> None:
    """Register the bracket routes on the exchange's REST server."""
    catalog = core.catalog

    def authorised(req: RestRequest) -> None:
        require(verify_rest(req, core.accounts, now_ms()), "USER_DATA")

    def usdm(req: RestRequest) -> Any:
        authorised(req)
        if req.params.get("symbol"):
            spec = symbol_of(catalog, "usdm", req.params)
            return {"symbol": spec.symbol, "brackets": brackets("usdm", "notionalFloor")}
        return [
            {"symbol": s.symbol, "brackets": brackets("usdm", "notionalFloor")}
            for s in catalog.symbols("usdm")
        ]

    def coinm_symbols(req: RestRequest) -> Any:
        authorised(req)
        specs = (
            [symbol_of(catalog, "coinm", req.params)]
            if req.params.get("symbol")
            else catalog.symbols("coinm")
        )
        return [{"symbol": s.symbol, "brackets": brackets("coinm", "qtyFloor")} for s in specs]

    def coinm_pairs(req: RestRequest) -> Any:
        authorised(req)
        pairs = sorted({s.pair for s in catalog.symbols("coinm")})
        wanted = req.params.get("pair")
        if wanted:
            if wanted not in pairs:
                raise ApiError(-1121, "Invalid symbol.")
            pairs = [wanted]
        return [{"pair": p, "brackets": brackets("coinm", "qtylFloor")} for p in pairs]

    core.rest.route("GET", "/fapi/v1/leverageBracket", usdm, weight=1, pool=POOLS["usdm"])
    core.rest.route("GET", "/dapi/v2/leverageBracket", coinm_symbols, weight=1, pool=POOLS["coinm"])
    core.rest.route("GET", "/dapi/v1/leverageBracket", coinm_pairs, weight=1, pool=POOLS["coinm"])
