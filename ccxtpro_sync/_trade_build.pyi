# Types of the compiled module built from _trade_build.c; without it (or with
# CCXTPRO_SYNC_PURE_PYTHON=1) binance/trade_stream.py builds every Trade in Python.
from typing import Any

def prepare(
    trade: type[Any],
    trade_event: type[Any],
    agg_trade_event: type[Any],
    none_fields: tuple[str, ...],
    list_fields: tuple[str, ...],
    /,
) -> None: ...
def trade(event: Any, symbol: str, plain_cost: bool, /) -> Any: ...
def run(
    events: list[Any], start: int, symbol: str, cursor: list[Any] | None, step: int, /
) -> list[Any]: ...
