"""Helpers shared by the socket-level benchmarks: clients, statistics, tables, workers."""

from __future__ import annotations

import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
#: Where ``ccxtpro_sync`` is imported from: a ``git archive`` of ``--ref`` (see
#: :func:`use_ref`), or the working tree. It goes first on ``sys.path``, before the
#: editable install's finder; ``spawn`` children inherit it.
SOURCE = os.environ.get("BENCH_SRC") or str(ROOT)
if SOURCE not in sys.path:
    sys.path.insert(0, SOURCE)

#: Workloads: name -> (stream, unified symbol).
WORKLOADS: dict[str, tuple[str, str]] = {
    "trades": ("btcusdt@aggTrade", "BTC/USDT"),
    "ticker": ("btcusdt@ticker", "BTC/USDT"),
    "depth": ("btcusdt@depth@100ms", "BTC/USDT"),
}

#: CPU the blaster process is pinned to with ``--pin`` (the client gets the other one).
SERVER_CPU = 1
CLIENT_CPU = 0


@dataclass
class Sample:
    """One measured run of one client on one workload."""

    variant: str
    workload: str
    messages: int
    wall: float  # seconds from the server's go to the last message seen by the consumer
    cpu: float  # client process CPU seconds over the same interval
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.messages / self.wall

    @property
    def cpu_per_message(self) -> float:
        return self.cpu / self.messages


def sent_us(trade: Any) -> int:
    """The send time a paced frame carries (``f``, see ``_payloads.agg_trade``), from a
    unified trade's ``info``: the wire struct live, a mapping after a fan-out hop."""
    info = trade.info
    return int(info["f"] if isinstance(info, Mapping) else info.first_trade_id)


def ours_config(ws_url: str, rest_url: str, **options: Any) -> dict[str, Any]:
    """ccxtpro_sync config pointing every endpoint at the blaster."""
    return {
        "environment": "local",
        "urls": {"ws": ws_url, "ws_api": ws_url + "/ws-api/v3", "rest": rest_url},
        "options": options,
    }


def ccxt_exchange(ws_url: str, rest_url: str) -> Any:
    """A ``ccxt.pro.binance`` pointed at the blaster.

    ``urls['api']['ws']['spot']`` is the raw-stream base (CCXT appends ``/<n>`` and
    subscribes with ``SUBSCRIBE``); ``urls['api']['public']`` serves ``exchangeInfo``
    and ``depth``. ``fetchMarkets`` is narrowed to spot so ``load_markets`` only
    needs ``/api/v3/exchangeInfo``; ``fetchCurrencies`` stays off (its default).
    """
    import ccxt.pro

    exchange = ccxt.pro.binance(
        {"options": {"fetchMarkets": {"types": ["spot"]}}, "enableRateLimit": False}
    )
    exchange.urls["api"]["ws"]["spot"] = ws_url + "/ws"
    exchange.urls["api"]["public"] = rest_url + "/api/v3"
    return exchange


def use_ref(ref: str) -> str:
    """Benchmark the library as committed at ``ref`` (``worktree``: the files on disk).

    Others edit the working tree while benchmarks run; an export of a commit keeps a
    run reproducible. Sets ``BENCH_SRC`` for the worker processes; returns a label.
    """
    if ref == "worktree":
        os.environ.pop("BENCH_SRC", None)
        return "working tree"
    rev, target = export_ref(ref)
    os.environ["BENCH_SRC"] = target
    return f"{ref} ({rev})"


def export_ref(ref: str) -> tuple[str, str]:
    """The library as committed at ``ref``, exported once to a temporary folder:
    returns (short commit, folder to put first on ``sys.path``)."""
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = pathlib.Path(tempfile.gettempdir()) / f"ccxtpro_sync-bench-{rev}"
    if not (target / "ccxtpro_sync").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "ccxtpro_sync"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    _build_extensions(rev, target)
    return rev, str(target)


def _build_extensions(rev: str, target: pathlib.Path) -> None:
    """Compile the commit's optional C modules in place, as ``pip install -e`` does for a
    user; without this an export would measure the pure-Python fallbacks."""
    package = target / "ccxtpro_sync"
    if not (package / "_book_levels.c").exists() or list(package.glob("_book_levels*.so")):
        return  # a commit before the compiled order book, or built by an earlier run
    setup = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:setup.py"], capture_output=True, check=True
    ).stdout
    (target / "setup.py").write_bytes(setup)
    built = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=target,
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0 or not list((target / "ccxtpro_sync").glob("_book_levels*.so")):
        print(f"warning: {rev}'s C order-book loop did not build; measuring the Python one")


def pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (``q`` in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain Markdown table (also readable in a terminal)."""
    cells = [[str(h) for h in headers], *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |"
        for r in cells[1:]
    ]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def run_worker(
    script: str, args: Sequence[str], timeout: float = 600.0, *, source: str | None = None
) -> Any:
    """Run ``benchmarks/<script> --worker ...`` in a fresh interpreter; its last stdout
    line is JSON. ``source``: measure the library in that folder instead."""
    command = [sys.executable, str(HERE / script), *args]
    env = None if source is None else {**os.environ, "BENCH_SRC": source}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def emit(payload: Any) -> None:
    """Worker side of :func:`run_worker`."""
    print(json.dumps(payload, default=lambda o: asdict(o) if isinstance(o, Sample) else str(o)))
