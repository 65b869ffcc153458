"""atk6: the two C extensions against their Python versions on seeded hostile input
(a few thousand cases, same result or same error each), and the defects that input
found. The long run under AddressSanitizer is ``tests/fuzz/sanitize_extensions.py``."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from ccxtpro_sync import _book_levels_py
from ccxtpro_sync._core import frames
from tests.fuzz import extension_inputs as fx

from .book_impls import levels_module

COMPILED_SCAN = frames.text_scan


@pytest.fixture
def c() -> ModuleType:
    return levels_module("compiled")


def test_seeded_hostile_books_give_the_same_states_views_and_errors(c: ModuleType) -> None:
    for seed in range(1500):
        got, want = fx.compare_book(c, seed)
        assert got == want, f"seed {seed}"


@pytest.mark.skipif(COMPILED_SCAN is None, reason="_frame_scan was not built")
def test_seeded_hostile_byte_streams_give_the_same_messages_and_errors() -> None:
    assert COMPILED_SCAN is not None
    for seed in range(1500):
        assert fx.run_frames(seed, COMPILED_SCAN) == fx.run_frames(seed, None), f"seed {seed}"
        fx.scan_direct(COMPILED_SCAN, seed)


def _view(module: ModuleType, keys: list[Any], amounts: list[Any], n: Any, neg: bool) -> Any:
    try:
        return module.top_levels(keys, amounts, n, neg)
    except Exception as error:
        return (type(error).__name__, str(error))


class _Shrinks:
    """An ``n`` whose ``__index__`` empties the side it is a view of."""

    def __init__(self, keys: list[Any], value: int) -> None:
        self.keys, self.value = keys, value

    def __index__(self) -> int:
        del self.keys[1:]
        return self.value


@pytest.mark.parametrize("neg", [False, True])
def test_a_view_sees_the_side_as_python_does_when_n_changes_it(c: ModuleType, neg: bool) -> None:
    results = []
    for module in (c, _book_levels_py):
        keys, amounts = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
        results.append((_view(module, keys, amounts, _Shrinks(keys, 2), neg), keys, amounts))
    assert results[0] == results[1]
    assert results[1][0] == ("ValueError", "zip() argument 2 is longer than argument 1")


class _NegClears(float):
    """A key whose negation empties the side being copied."""

    side: list[list[Any]]

    def __neg__(self) -> float:
        for part in self.side:
            del part[:]
        return -float(self)


def test_a_view_is_copied_before_a_key_s_negation_can_change_the_side(c: ModuleType) -> None:
    results = []
    for module in (c, _book_levels_py):
        low, high = _NegClears(-3.0), _NegClears(-1.0)
        keys, amounts = [low, -2.0, high], [1.0, 2.0, 3.0]
        low.side = high.side = [keys, amounts]
        results.append(_view(module, keys, amounts, None, True))
    assert results[0] == results[1] == [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]


@pytest.mark.parametrize("n", [1.5, "2", b"1"])
def test_a_view_count_that_is_not_an_index_is_the_same_type_error(c: ModuleType, n: Any) -> None:
    keys, amounts = [1.0, 2.0], [3.0, 4.0]
    assert _view(c, keys, amounts, n, False) == _view(_book_levels_py, keys, amounts, n, False)


@pytest.mark.skipif(COMPILED_SCAN is None, reason="_frame_scan was not built")
@pytest.mark.parametrize("limit", [2**63, 2**70, 10**30])
def test_a_message_limit_past_the_machine_size_limits_nothing_in_either_parser(limit: int) -> None:
    """``maxMessageSize`` set huge ("no limit"): the compiled scan raised OverflowError
    on every frame, which the Python parser never did."""
    stream = b"\x81\x05hello" + b"\x81\x7e\x00\x80" + b"x" * 128
    got = []
    for scan in (COMPILED_SCAN, None):
        saved, frames.text_scan = frames.text_scan, scan
        try:
            got.append(frames.FrameParser(max_message=limit).feed(stream))
        finally:
            frames.text_scan = saved
    assert got[0] == got[1] == [(1, b"hello"), (1, b"x" * 128)]
