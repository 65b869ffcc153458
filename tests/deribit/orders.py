"""The order requests the Deribit order tests make, by name: ``create`` (a new order),
``cancel`` and ``edit`` (of an order already placed)."""

from __future__ import annotations

from collections.abc import Callable

from ccxtpro_sync import DeribitClient, Order

PERP = "BTC/USD:BTC"


def order_call(
    client: DeribitClient, order: Order, action: str, label: str
) -> Callable[[], object]:
    """``action`` as a call: a new limit buy labelled ``label``, or a cancel or an
    edit (amount 20 at 40500) of ``order``."""
    calls: dict[str, Callable[[], object]] = {
        "create": lambda: client.create_order_ws(
            PERP, "limit", "buy", 10, 40000, {"clientOrderId": label}
        ),
        "cancel": lambda: client.cancel_order_ws(order.id, PERP),
        "edit": lambda: client.edit_order_ws(order.id, PERP, "limit", "buy", 20, 40500),
    }
    return calls[action]
