"""Reliability suite options: ``--soak-minutes N`` turns on the soak test (off by default)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-minutes",
        action="store",
        type=float,
        default=0.0,
        help="run the reliability soak test for N minutes (0, the default, skips it)",
    )


@pytest.fixture
def soak_minutes(request: pytest.FixtureRequest) -> float:
    minutes = float(request.config.getoption("--soak-minutes"))
    if minutes <= 0:
        pytest.skip("soak test: pass --soak-minutes N to run it")
    return minutes
