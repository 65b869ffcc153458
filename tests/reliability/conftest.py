"""Reliability suite options: ``--soak-minutes N`` turns on the soak test (off by default)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..blackhole import black_hole


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-minutes",
        action="store",
        type=float,
        default=0.0,
        help="run the reliability soak test for N minutes (0, the default, skips it)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The suite-wide per-test timeout (pyproject) is for ordinary tests; a soak runs
    # for as long as asked, plus time to settle and report.
    minutes = float(config.getoption("--soak-minutes"))
    if minutes > 0:
        for item in items:
            if "soak_minutes" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.timeout(minutes * 60 + 300))


@pytest.fixture
def soak_minutes(request: pytest.FixtureRequest) -> float:
    minutes = float(request.config.getoption("--soak-minutes"))
    if minutes <= 0:
        pytest.skip("soak test: pass --soak-minutes N to run it")
    return minutes


@pytest.fixture
def hole() -> Iterator[tuple[str, int]]:
    """A local address whose TCP connects hang (``tests/blackhole.py``)."""
    with black_hole() as address:
        yield address
