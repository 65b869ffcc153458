"""Futures ``account``: ``GET /fapi/v2/account``, ``/fapi/v3/account``, ``/dapi/v1/account``.

Built from the same balances and positions as ``/balance`` and ``/positionRisk``
(:mod:`.account_views`), regrouped into Binance's account shape: per-asset
margin figures under ``assets``, one entry per position under ``positions``
and, on USD-M, ``total*`` sums of the USD-margined assets.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from .account_views import futures_positions
from .accounts import Account
from .catalog import MarketName
from .matching import Matching
from .private_shapes import Obj, money

#: ``total*`` fields on USD-M count the stablecoin-margined wallets only.
_USD_ASSETS = frozenset({"USDT", "USDC", "FDUSD", "BUSD"})

Version = Literal["v2", "v3", "coinm"]


def futures_account(
    matching: Matching, account: Account, market: MarketName, version: Version
) -> Obj:
    """The account answer of ``version`` (``coinm`` is ``/dapi/v1/account``)."""
    catalog = matching.engine.catalog
    assets = sorted(
        set(account.wallets[market]) | {s.margin_asset for s in catalog.symbols(market)}
    )
    rows: list[Obj] = []
    totals: dict[str, Decimal] = {}
    for asset in assets:
        wallet = account.wallet(market, asset)
        upnl, pos_im, order_im = matching.margin(account, market, asset)
        available = matching.available(account, market, asset)
        figures = {
            "walletBalance": wallet,
            "unrealizedProfit": upnl,
            "marginBalance": wallet + upnl,
            "maintMargin": Decimal(0),
            "initialMargin": pos_im + order_im,
            "positionInitialMargin": pos_im,
            "openOrderInitialMargin": order_im,
            "crossWalletBalance": wallet,
            "crossUnPnl": upnl,
            "availableBalance": available,
            "maxWithdrawAmount": max(Decimal(0), min(available, wallet)),
        }
        row: Obj = {"asset": asset, **{k: money(v) for k, v in figures.items()}}
        if market == "usdm":
            row["marginAvailable"] = True
        row["updateTime"] = account.update_time
        rows.append(row)
        if asset in _USD_ASSETS:
            for key, value in figures.items():
                totals[key] = totals.get(key, Decimal(0)) + value
    positions = [
        _account_position(p)
        for p in futures_positions(matching, account, market, {}, only_active=version != "v2")
    ]
    out: Obj = {}
    if version != "v3":
        out.update(
            {
                "feeTier": 0,
                "canTrade": account.can_trade,
                "canDeposit": True,
                "canWithdraw": True,
                "updateTime": account.update_time if version == "coinm" else 0,
            }
        )
    if version == "v2":
        out.update({"multiAssetsMargin": False, "tradeGroupId": -1})
    if market == "usdm":
        total = totals.get
        zero = Decimal(0)
        out.update(
            {
                "totalInitialMargin": money(total("initialMargin", zero)),
                "totalMaintMargin": money(total("maintMargin", zero)),
                "totalWalletBalance": money(total("walletBalance", zero)),
                "totalUnrealizedProfit": money(total("unrealizedProfit", zero)),
                "totalMarginBalance": money(total("marginBalance", zero)),
                "totalPositionInitialMargin": money(total("positionInitialMargin", zero)),
                "totalOpenOrderInitialMargin": money(total("openOrderInitialMargin", zero)),
                "totalCrossWalletBalance": money(total("crossWalletBalance", zero)),
                "totalCrossUnPnl": money(total("crossUnPnl", zero)),
                "availableBalance": money(total("availableBalance", zero)),
                "maxWithdrawAmount": money(total("maxWithdrawAmount", zero)),
            }
        )
    out["assets"] = rows
    out["positions"] = positions
    return out


def _account_position(risk: dict[str, Any]) -> Obj:
    """A ``positionRisk`` entry regrouped as an account ``positions`` entry."""
    notional_key = "notional" if "notional" in risk else "notionalValue"
    return {
        "symbol": risk["symbol"],
        "positionSide": risk["positionSide"],
        "positionAmt": risk["positionAmt"],
        "unrealizedProfit": risk["unRealizedProfit"],
        "isolatedMargin": risk["isolatedMargin"],
        notional_key: risk[notional_key],
        "isolatedWallet": risk["isolatedWallet"],
        "initialMargin": risk["initialMargin"],
        "maintMargin": risk["maintMargin"],
        "leverage": risk["leverage"],
        "isolated": risk["marginType"] == "isolated",
        "entryPrice": risk["entryPrice"],
        "updateTime": risk["updateTime"],
    }
