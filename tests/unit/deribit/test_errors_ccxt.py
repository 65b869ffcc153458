"""Deribit's error codes raise CCXT's exception classes (CCXT's own Deribit table), or
a subclass of them, so code written against CCXT catches what this client raises."""

from __future__ import annotations

import pytest

from ccxtpro_sync._exchanges.deribit import errors

ccxt = pytest.importorskip("ccxt")


def test_every_mapped_code_is_ccxts_class_or_a_subclass_of_it() -> None:
    table = ccxt.deribit().exceptions
    exact = table.get("exact", table)
    codes = set(errors._BY_CODE) | errors._RATE | errors._TRANSIENT | errors._MAINTENANCE
    compared = 0
    for code in sorted(codes):
        theirs = exact.get(str(code))
        if theirs is None:
            continue  # a code CCXT does not list
        ours = type(errors.deribit_error(code))
        assert theirs.__name__ in {c.__name__ for c in ours.__mro__}, (code, ours, theirs)
        compared += 1
    assert compared >= 40
