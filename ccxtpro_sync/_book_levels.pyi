# Types of the compiled module built from _book_levels.c; _book_levels_py.py is the
# Python version with the same signatures and documentation.
from collections.abc import Iterable, Sequence
from typing import Any

def apply_levels(
    keys: list[Any],
    amounts: list[Any],
    bound: Any,
    neg: bool,
    limit: int | None,
    levels: Iterable[Sequence[Any]] | bytes,
    /,
) -> Any: ...
def top_levels(
    keys: list[Any], amounts: list[Any], n: int | None, neg: bool, /
) -> list[list[Any]]: ...
def pack_levels(text: bytes | memoryview | bytearray, /) -> bytes | None: ...
def depth_frame(name: bytes, stream: str, combined: Any, fallback: Any, frame: bytes, /) -> Any: ...
