"""Build hook only: setup.cfg holds the metadata. It adds the order book's optional C
level loop; where it cannot compile (no compiler, no Python headers), setuptools warns
and installs the package anyway, which then runs the Python loop (_book_levels_py)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ccxtpro_sync._book_levels",
            sources=["ccxtpro_sync/_book_levels.c"],
            optional=True,
        ),
        # The frame parser's common case (ccxtpro_sync/_core/frames.py), optional too.
        Extension(
            "ccxtpro_sync._frame_scan",
            sources=["ccxtpro_sync/_frame_scan.c"],
            optional=True,
        ),
        # A public trade's Trade in one call (ccxtpro_sync/_exchanges/binance/trade_stream.py).
        Extension(
            "ccxtpro_sync._trade_build",
            sources=["ccxtpro_sync/_trade_build.c"],
            optional=True,
        ),
        # A bound stream's consecutive frames decoded in one call (binance/combined.py).
        Extension(
            "ccxtpro_sync._stream_run",
            sources=["ccxtpro_sync/_stream_run.c"],
            optional=True,
        ),
        # The CPU a reader rings the dispatcher from (ccxtpro_sync/_sync/follow.py).
        Extension(
            "ccxtpro_sync._cpu",
            sources=["ccxtpro_sync/_cpu.c"],
            optional=True,
        ),
    ]
)
