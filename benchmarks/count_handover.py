"""Instructions per reader -> dispatcher hand-over under cachegrind, per doorbell kind.

Run by hand: ``.venv/bin/python benchmarks/count_handover.py [--kinds pipe,eventfd]
[--repeat 3] [--ref REV]`` (needs ``valgrind``).

One hand-over is what a steady stream pays per message: a producer queues one update
with ``Dispatcher.put_many`` (which rings the parked dispatcher's doorbell) and waits
on a semaphore that the update's callback releases. Each kind runs 1,000 and 4,000
such rounds under ``valgrind --tool=cachegrind --cache-sim=no``; the difference divided
by 3,000 is one hand-over, both threads and the test's semaphore included. The
interpreter's forced GIL switch is set out of reach in that process (only there), so
the threads change hands only where they block, as they do at full speed; the median
of ``--repeat`` runs is printed. Kinds: ``pipe`` (the default bell), ``eventfd``,
``pipe512`` (the pipe read 512 bytes at a time, as before).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from _common import ROOT, export_ref
from count_instructions import _instructions

_SCRIPT = """
import os, sys, threading
from functools import partial
from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync._core.router import Router
import ccxtpro_sync._sync.dispatcher as dispatcher_module
from ccxtpro_sync._sync.doorbell import Doorbell

kind, n = sys.argv[1], int(sys.argv[2])
# Under valgrind a thread runs some 50 times slower, so the GIL's 5 ms forced switch
# would fire at points that depend on the machine's load: with it out of the way the
# threads change hands only where they block, as at full speed.
sys.setswitchinterval(10.0)

def bell():
    made = Doorbell(eventfd=kind == "eventfd")
    if kind == "pipe512":
        made.wait = partial(os.read, made._read, 512)
    return made

dispatcher_module.Doorbell = bell
arrived = threading.Semaphore(0)
router = Router()
router.add_callback("trades:X", lambda batch: arrived.release())
dispatcher = dispatcher_module.Dispatcher(router.callbacks, name="ccxtpro_sync-count-dispatcher")
batches = [[Delivery("trades:X", [k], Policy.APPEND)] for k in range(n)]
for batch in batches:
    dispatcher.put_many(batch)
    arrived.acquire()
dispatcher.close()
"""

LOW, HIGH = 1_000, 4_000


def per_handover(kind: str, env: dict[str, str]) -> float:
    counts = [
        _instructions([sys.executable, "-c", _SCRIPT, kind, str(n)], env) for n in (LOW, HIGH)
    ]
    return (counts[1] - counts[0]) / (HIGH - LOW)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kinds", default="pipe,eventfd,pipe512")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ref", help="a commit to measure instead of the working tree")
    args = parser.parse_args()
    # The library measured comes first on the path (before an editable install's).
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    label = "working tree"
    if args.ref:
        rev, source = export_ref(args.ref)
        env["PYTHONPATH"] = source
        label = f"{args.ref} ({rev})"
    kinds = args.kinds.split(",")
    found: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.repeat):  # kinds interleaved, round by round
        for kind in kinds:
            found[kind].append(per_handover(kind, env))
    print(f"instructions per hand-over ({label}), median of {args.repeat}:")
    base = statistics.median(found[kinds[0]])
    for kind in kinds:
        value = statistics.median(found[kind])
        runs = ", ".join(f"{v:,.0f}" for v in found[kind])
        print(f"  {kind:8} {value:9,.0f}  ({value / base:.2f} x {kinds[0]}; runs {runs})")


if __name__ == "__main__":
    main()
