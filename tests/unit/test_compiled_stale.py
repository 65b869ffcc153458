"""A compiled module built from older sources (an editable install updated without a
rebuild) lacks functions the Python code calls: it is left out with a warning naming
the rebuild, and the pure-Python twin runs, instead of the import failing."""

from __future__ import annotations

import logging
import sys
import types

import pytest

from ccxtpro_sync import _book_levels_py, _compiled, _orderbook
from ccxtpro_sync._core import frames
from ccxtpro_sync._exchanges.binance import combined, trade_stream


def _install(monkeypatch: pytest.MonkeyPatch, name: str, **attrs: object) -> None:
    """``ccxtpro_sync.<name>`` is, for this test, a module with only ``attrs``."""
    module = types.ModuleType(f"ccxtpro_sync.{name}")
    for attr, value in attrs.items():
        setattr(module, attr, value)
    monkeypatch.setitem(sys.modules, f"ccxtpro_sync.{name}", module)
    monkeypatch.delenv(_compiled.PURE_PYTHON_ENV, raising=False)


def _stub(*args: object) -> None:
    return None


def test_a_complete_module_is_loaded_and_an_incomplete_one_is_left_out_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _install(monkeypatch, "_probe_ext", first=_stub, second=_stub)
    assert _compiled.load("_probe_ext", "first", "second") is sys.modules["ccxtpro_sync._probe_ext"]
    with caplog.at_level(logging.WARNING, logger="ccxtpro_sync"):
        assert _compiled.load("_probe_ext", "first", "third", "fourth") is None
    [record] = caplog.records
    assert "_probe_ext" in record.getMessage() and "third, fourth" in record.getMessage()
    assert "build_ext --inplace" in record.getMessage()


def test_ruled_out_and_absent_modules_are_none_without_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _install(monkeypatch, "_probe_ext", first=_stub)
    monkeypatch.setenv(_compiled.PURE_PYTHON_ENV, "1")
    with caplog.at_level(logging.WARNING, logger="ccxtpro_sync"):
        assert _compiled.load("_probe_ext", "first") is None
        monkeypatch.setenv(_compiled.PURE_PYTHON_ENV, "0")  # "0" does not rule out
        assert _compiled.load("_probe_ext", "first") is not None
        assert _compiled.load("_no_such_extension_here") is None
    assert caplog.records == []


def test_an_old_book_loop_leaves_the_books_on_the_python_loop(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Before depth frames were read in C: no pack_levels, no depth_frame.
    _install(monkeypatch, "_book_levels", apply_levels=_stub, top_levels=_stub)
    with caplog.at_level(logging.WARNING, logger="ccxtpro_sync"):
        assert _orderbook._levels_impl() == ("python", _book_levels_py)
    assert "pack_levels, depth_frame" in caplog.text


def test_an_old_trade_builder_leaves_trades_on_the_python_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before trades were built in runs: prepare and trade, no run.
    _install(monkeypatch, "_trade_build", prepare=_stub, trade=_stub)
    assert trade_stream._compiled_build() is None


def test_old_frame_and_run_scanners_leave_the_python_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _install(monkeypatch, "_stream_run")
    _install(monkeypatch, "_frame_scan")
    assert combined._compiled_run() is None
    assert frames._compiled_scan() is None
