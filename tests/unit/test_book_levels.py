"""The compiled level loop (``_book_levels.c``) against the Python one
(``_book_levels_py``): same side state bit for bit after thousands of random diffs,
the same views, the same errors; and the compiled one is really built and selected."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from bisect import bisect_left, insort
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ccxtpro_sync import _book_levels_py, _orderbook
from ccxtpro_sync._orderbook import LocalOrderBook
from tests.required import in_ci

from .book_impls import (  # noqa: F401  (a fixture)
    book_levels,
    compiled,
    exact,
    levels_module,
    run,
    side,
    state,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def c() -> ModuleType:
    return levels_module("compiled")


def views(module: ModuleType, s: Any) -> list[Any]:
    out = []
    for n in (None, 0, 1, 5, -1, -3, 100):
        got = module.top_levels(s.keys, s.amounts, n, s.neg)
        out.append([[exact(p), exact(q)] for p, q in got])
    return out


def float_level(rng: random.Random) -> tuple[float, float]:
    # a grid of 60 prices, so diffs hit present levels, new ones and absent ones
    price = rng.randrange(1, 61) / 4
    amount = rng.choice([0.0, -0.0, 0.5, 1.0, 2.25, 3.0, 1e-8, 7.0])
    return price, amount


def decimal_level(rng: random.Random) -> list[Decimal]:
    # one price spelled several ways: Decimal("2.5") == Decimal("2.50"), same hash
    price = (Decimal(rng.randrange(1, 61)) / 4).quantize(Decimal(1).scaleb(-rng.randrange(2, 5)))
    amount = Decimal(rng.choice(["0", "0.00", "-0", "1", "1.50", "2.5", "3"]))
    return [price, amount]


def mixed_level(rng: random.Random) -> tuple[Any, Any]:
    # ints and floats for one price (5 == 5.0, same hash): the generic comparison path
    ticks = rng.randrange(1, 31)
    price: Any = ticks if rng.random() < 0.5 else float(ticks)
    amount: Any = rng.choice([0, 0.0, 1, 2.5, True, False])
    return price, amount


MAKERS: dict[str, Callable[[random.Random], Any]] = {
    "float": float_level,
    "decimal": decimal_level,
    "mixed": mixed_level,
}


@pytest.mark.parametrize("number", list(MAKERS))
@pytest.mark.parametrize("limit", [None, 1, 3, 10])
@pytest.mark.parametrize("neg", [False, True])
def test_random_diffs_match_the_python_loop_bit_for_bit(
    c: ModuleType, number: str, limit: int | None, neg: bool
) -> None:
    rng = random.Random(f"{number}-{limit}-{neg}")
    make = MAKERS[number]
    for _ in range(30):  # 30 books x 60 diffs per case, 24 cases
        snapshot = [make(rng) for _ in range(rng.randrange(0, 25))]
        depth = rng.choice([None, 5, 12, 40])  # a full snapshot of `depth` gets a bound
        py, cc = side(neg, limit, snapshot, depth), side(neg, limit, snapshot, depth)
        assert state(cc) == state(py)
        for _ in range(60):
            levels = [make(rng) for _ in range(rng.randrange(0, 21))]
            assert run(c, cc, levels) == run(_book_levels_py, py, levels)
            assert state(cc) == state(py)
            assert views(c, cc) == views(_book_levels_py, py)


# factories: each run gets its own levels (an iterator is used up by one run)
BAD_LEVELS: list[Callable[[], list[Any]]] = [
    lambda: [("abc", 1.0)],  # a string price: `-x` fails on bids, `<` against floats on asks
    lambda: [(5.0, 1.0), (6.0,)],  # too few values, after one good level (kept, as in Python)
    lambda: [(5.0, 1.0, 2.0)],  # too many values
    lambda: [7],  # not a pair at all
    lambda: [None],
    lambda: ["ab"],  # a string of two characters unpacks, then fails as a price
    lambda: [iter([5.5, 2.0])],  # any iterable of two unpacks
    lambda: [iter([5.5])],
    lambda: [iter([5.5, 1.0, 2.0])],
    lambda: [[5.25, None]],  # None is a zero amount: removes
    lambda: [(math.nan, 1.0), (math.nan, 0.0)],  # NaN: false comparisons, identity in dicts
    lambda: [(math.inf, 1.0), (-0.0, 1.0), (0.0, 0.0)],
    lambda: [(5.0, math.nan)],  # NaN is a true amount
    lambda: [(Decimal("5"), 1.0), (5, 2.0), (5.0, 0)],  # equal keys of three types
    lambda: [(complex(1, 1), 1.0)],  # not orderable
    lambda: [(5.0, 1.0), (4.0, 1.0), "x"],
]


@pytest.mark.parametrize("levels", BAD_LEVELS, ids=range(len(BAD_LEVELS)))
@pytest.mark.parametrize("neg", [False, True])
def test_bad_levels_raise_the_same_errors_and_leave_the_same_state(
    c: ModuleType, levels: Callable[[], list[Any]], neg: bool
) -> None:
    snapshot = [(5.0, 1.0), (5.5, 2.0), (6.0, 3.0)]
    for depth in (None, 3):  # 3: a bounded side
        py, cc = side(neg, None, snapshot, depth), side(neg, None, snapshot, depth)
        assert run(c, cc, levels()) == run(_book_levels_py, py, levels())
        assert state(cc) == state(py)


@pytest.mark.parametrize("limit", [0, -1, -5])
def test_limits_no_book_makes_behave_alike(c: ModuleType, limit: int) -> None:
    # LocalOrderBook refuses them; the two loops still agree on what they do
    levels = [(5.0, 1.0), (6.0, 2.0)]
    py, cc = side(False, None, [(4.0, 1.0)], None), side(False, None, [(4.0, 1.0)], None)
    py.limit = cc.limit = limit
    assert run(c, cc, levels) == run(_book_levels_py, py, levels) is not None
    assert state(cc) == state(py)


def test_a_raising_level_iterable_propagates(c: ModuleType) -> None:
    def levels() -> Any:
        yield (1.0, 1.0)
        raise KeyError("from the source")

    py, cc = side(False, None, [], None), side(False, None, [], None)
    assert (
        run(c, cc, levels())
        == run(_book_levels_py, py, levels())
        == ("KeyError", "'from the source'")
    )
    assert state(cc) == state(py) and cc.keys == [1.0] and cc.amounts == [1.0]


def test_wrong_arguments_are_type_errors(c: ModuleType) -> None:
    with pytest.raises(TypeError):
        c.apply_levels([], (), None, False, None, [])  # amounts must be a list
    with pytest.raises(TypeError):
        c.apply_levels([], [], None, False, None)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        c.top_levels({}, [], None, False)  # type: ignore[arg-type]
    # lists out of step (never made by a book): the same error from both
    for module in (c, _book_levels_py):
        with pytest.raises(RuntimeError, match="out of step"):
            module.top_levels([1.0, 2.0], [3.0], None, True)


def test_the_compiled_loop_is_built_and_selected() -> None:
    """Under CI the extension must exist: the fast path may not vanish silently."""
    module = compiled()
    if module is None:
        why = "ccxtpro_sync._book_levels was not built (no C compiler at install time?)"
        if in_ci():
            pytest.fail(f"{why}; CI must build the compiled order book", pytrace=False)
        pytest.skip(why)
    if os.environ.get(_orderbook.PURE_PYTHON_ENV, "") in ("", "0"):
        assert _orderbook._LEVELS_IMPL == "compiled"


def _impl_in_child(value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != _orderbook.PURE_PYTHON_ENV}
    if value is not None:
        env[_orderbook.PURE_PYTHON_ENV] = value
    env["PYTHONPATH"] = str(ROOT)
    code = (
        "from ccxtpro_sync import _orderbook as o; "
        "print(o._LEVELS_IMPL, o._apply_levels.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip()


def test_the_environment_variable_forces_the_python_loop() -> None:
    assert _impl_in_child("1") == "python ccxtpro_sync._book_levels_py"
    default = (
        "compiled ccxtpro_sync._book_levels"
        if compiled()
        else "python ccxtpro_sync._book_levels_py"
    )
    assert _impl_in_child("0") == default
    assert _impl_in_child(None) == default


class DictSide:
    """The side as it was before the level loop moved to C: a dict plus a best-first
    key list (bid keys negated). The public behaviour must not have changed."""

    def __init__(self, sign: int, limit: int | None) -> None:
        self.sign, self.limit = sign, limit
        self.qty: dict[Any, Any] = {}
        self.keys: list[Any] = []
        self.bound: Any = None

    def reset(self, levels: list[Any], depth: int | None) -> None:
        neg = self.sign < 0
        qty: dict[Any, Any] = {}
        n_in = 0
        for price, amount in levels:
            n_in += 1
            if amount:
                qty[-price if neg else price] = amount
        keys = sorted(qty)
        cap = self.limit
        if depth is not None and (cap is None or depth < cap):
            cap = depth
        bound = None
        if cap is not None and n_in >= cap:
            for k in keys[cap:]:
                del qty[k]
            del keys[cap:]
            bound = keys[-1] if keys else None
        self.qty, self.keys, self.bound = qty, keys, bound

    def update(self, levels: list[Any]) -> None:
        qty, keys, bound, neg = self.qty, self.keys, self.bound, self.sign < 0
        for price, amount in levels:
            key = -price if neg else price
            if amount:
                if key in qty:
                    qty[key] = amount
                elif bound is None or key <= bound:
                    qty[key] = amount
                    insort(keys, key)
            elif qty.pop(key, None) is not None:
                del keys[bisect_left(keys, key)]
        if self.limit is not None and len(keys) > self.limit:
            for k in keys[self.limit :]:
                del qty[k]
            del keys[self.limit :]
            self.bound = keys[-1]

    def view(self) -> list[list[Any]]:
        s = self.sign
        return [[k if s > 0 else -k, self.qty[k]] for k in self.keys]

    def price_bound(self) -> Any:
        return None if self.bound is None else self.bound if self.sign > 0 else -self.bound


@pytest.mark.usefixtures("book_levels")
@pytest.mark.parametrize("number", ["float", "decimal"])
@pytest.mark.parametrize("limit", [None, 2, 7])
def test_the_book_behaves_as_the_dict_book_did(number: str, limit: int | None) -> None:
    rng = random.Random(f"old-{number}-{limit}")
    make = MAKERS[number]
    num: Any = float if number == "float" else Decimal
    for _ in range(25):
        snap = [[make(rng) for _ in range(rng.randrange(0, 15))] for _ in range(2)]
        depth = rng.choice([None, 3, 8, 20])
        book = LocalOrderBook("X", limit=limit, number=num, parsed=True)
        book.reset(snap[0], snap[1], 0, depth=depth)
        old = [DictSide(-1, limit), DictSide(1, limit)]
        for s, levels in zip(old, snap, strict=True):
            s.reset(levels, depth)
        for i in range(1, 60):
            diff = [[make(rng) for _ in range(rng.randrange(0, 12))] for _ in range(2)]
            book.apply(diff[0], diff[1], i)
            for s, levels in zip(old, diff, strict=True):
                s.update(levels)
            view = book.snapshot()
            assert [[exact(p), exact(q)] for p, q in view.bids] == [
                [exact(p), exact(q)] for p, q in old[0].view()
            ]
            assert [[exact(p), exact(q)] for p, q in view.asks] == [
                [exact(p), exact(q)] for p, q in old[1].view()
            ]
            assert book.bid_bound == old[0].price_bound()
            assert book.ask_bound == old[1].price_bound()
            assert book.snapshot(3).bids == view.bids[:3]
            best = view.bids[0][0] if view.bids else None
            assert book.best_bid() == best
            assert book.best_ask() == (view.asks[0][0] if view.asks else None)
            assert book.is_crossed() == (
                bool(view.bids) and bool(view.asks) and view.bids[0][0] >= view.asks[0][0]
            )


@pytest.mark.usefixtures("book_levels")
@pytest.mark.parametrize("limit", [2**63, 2**70])
def test_a_limit_beyond_the_machine_size_caps_nothing_in_either_loop(limit: int) -> None:
    # orderBookDepth is the user's number, not checked against sys.maxsize: a limit
    # no book reaches keeps every level, in C as in Python (not OverflowError per diff).
    book: LocalOrderBook[float] = LocalOrderBook("X/Y", limit=limit, parsed=True)
    book.reset([(1.0, 1.0)], [(3.0, 1.0)], nonce=1)
    book.apply([(2.0, 1.0)], [(2.5, 1.0)], nonce=2)
    snap = book.snapshot()
    assert snap.bids == [[2.0, 1.0], [1.0, 1.0]] and snap.asks == [[2.5, 1.0], [3.0, 1.0]]


@pytest.mark.parametrize("limit", [1e9, 10.0, "10", True])
def test_a_limit_that_is_not_an_integer_is_refused_when_the_book_is_made(limit: Any) -> None:
    # A float depth (a JSON config's 1000.0) failed every diff in the compiled loop and
    # none in the Python one: refused up front, the same way for both.
    with pytest.raises(ValueError, match="limit must be"):
        LocalOrderBook("X/Y", limit=limit)
