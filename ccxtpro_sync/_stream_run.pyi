# Types of the compiled module built from _stream_run.c; without it (or with
# CCXTPRO_SYNC_PURE_PYTHON=1) binance/combined.py runs the same loop in Python.
from typing import Any

def payloads(
    refused: tuple[type[BaseException], ...],
    messages: list[tuple[int, bytes]],
    index: int,
    end: int,
    stream: tuple[bytes, Any, str],
    /,
) -> list[Any]: ...
