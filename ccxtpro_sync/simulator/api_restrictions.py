"""``GET /sapi/v1/account/apiRestrictions``: what one API key may do, in Binance's shape.

Binance's wallet endpoint (USER_DATA, weight 1, SIGNED) answers with ``enable*`` flags
for the calling key. Here they follow the key's permissions as the account config set
them: ``USER_DATA`` is reading, ``TRADE`` is spot/margin and futures trading, and the
``WITHDRAW`` permission (never given by default) is withdrawals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .accounts import ApiKey
from .auth import verify_rest
from .engine import now_ms
from .rest import POOLS, RestRequest

if TYPE_CHECKING:
    from .private import PrivateExchange

PATH = "/sapi/v1/account/apiRestrictions"
#: When every local key was "created" (the exchange keeps no per-key creation time).
CREATE_TIME = 1_700_000_000_000


def restrictions(key: ApiKey) -> dict[str, Any]:
    """The ``apiRestrictions`` answer for ``key``."""
    trade = "TRADE" in key.permissions
    return {
        "ipRestrict": False,
        "createTime": CREATE_TIME,
        "enableReading": "USER_DATA" in key.permissions,
        "enableWithdrawals": "WITHDRAW" in key.permissions,
        "enableInternalTransfer": False,
        "enableMargin": False,
        "enableFutures": trade,
        "permitsUniversalTransfer": False,
        "enableVanillaOptions": False,
        "enableFixApiTrade": False,
        "enableFixReadOnly": False,
        "enableSpotAndMarginTrading": trade,
        "enablePortfolioMarginTrading": False,
    }


def install(core: PrivateExchange) -> None:
    """Serve the endpoint on the spot REST host, as Binance does (``/sapi`` lives there)."""

    def handler(req: RestRequest) -> Any:
        key = verify_rest(req, core.accounts, now_ms())
        # any valid key may ask what it can do: reading is not required for this one
        return restrictions(key)

    core.rest.route("GET", PATH, handler, weight=1, pool=POOLS["spot"])


__all__ = ["PATH", "install", "restrictions"]
