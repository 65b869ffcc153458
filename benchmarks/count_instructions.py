"""Instructions per message under cachegrind: a measure the machine's load does not move.

Run by hand: ``.venv/bin/python benchmarks/count_instructions.py [--workloads trades,depth]
[--ref REV] [--loop]`` (needs ``valgrind``).

Each workload runs twice under ``valgrind --tool=cachegrind --cache-sim=no``, once with
1,000 and once with 4,000 messages, everything else equal (the frames are built
for 4,000 both times); the difference divided by 3,000 is the cost of one message.

* default: ``bench_stages.py``'s pipeline, ``BinanceStreamProtocol.receive`` and
  ``Hub.deliver_many`` in bursts of 300 (no socket, no read loop, no callback);
* ``--runs``: the same pipeline through ``receive_run`` (the connection's call for a
  burst's data frames: bound frames routed in groups, a trades stream's in runs) over
  bursts of ``--burst`` frames (300; 1 is a steady stream, each frame its own burst),
  then ``Hub.deliver_many`` (no socket, no read loop, no callback);
* ``--loop``: ``bench_hotpath.py``'s worker, the connection's own read loop over
  pre-built frames to the callback (2,000 + 2 x N messages per run), minus the same
  worker building those frames without reading them (``--build-only``: building a
  frame costs about 16,000 instructions, which figures before this subtraction, on
  2026-12-01, still included). It includes the dispatcher thread, whose batching
  valgrind's serialised threads change, so compare ``LATEST`` streams (tickers, books)
  with care.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

from _common import HERE, export_ref

_PIPELINE = """
import sys
sys.path.insert(0, {here!r})
import bench_stages as bs
workload, n = sys.argv[1], int(sys.argv[2])
pipe = bs._Pipeline(workload)
frames = pipe.envelopes(4000)
receive, deliver = pipe.protocol.receive, pipe.hub.deliver_many
batch = []
for frame in frames[:n]:
    batch += receive(frame, 0.0)
    if len(batch) >= 300:
        deliver(batch, "bench", url="ws://local", wake=False)
        batch = []
if batch:
    deliver(batch, "bench", url="ws://local", wake=False)
pipe.hub.dispatcher.wake()
pipe.hub.close()
"""


_RUNS = """
import sys
sys.path.insert(0, {here!r})
import bench_stages as bs
workload, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pipe = bs._Pipeline(workload)
frames = pipe.envelopes(4001)
receive, deliver = pipe.protocol.receive, pipe.hub.deliver_many
receive(frames[0], 0.0)  # binds the stream
run = pipe.protocol.receive_run
messages = [(1, frame) for frame in frames[1 : n + 1]]
for start in range(0, len(messages), size):
    burst = messages[start : start + size]
    index, batch = 0, []
    while index < len(burst):
        index, result = run(burst, index, 0.0, batch)
        if result is not None:  # (depth: a gap's resync) what the connection would deliver
            batch += result if type(result) is list else result.deliveries
    deliver(batch, "bench", url="ws://local", wake=False)
pipe.hub.dispatcher.wake()
pipe.hub.close()
"""


def _instructions(command: list[str], env: dict[str, str]) -> int:
    valgrind = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
    ]
    out = subprocess.run(valgrind + command, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_message(
    workload: str, src: str | None, loop: bool, runs: bool = False, burst: int = 300
) -> float:
    env = dict(os.environ)
    if src:
        env["BENCH_SRC"] = src
    else:
        env.pop("BENCH_SRC", None)
    counts = []
    for n in (1000, 4000):
        if loop:
            command = [sys.executable, str(HERE / "bench_hotpath.py"), "--worker", workload]
            command += ["--n", str(n)]
            built = _instructions([*command, "--build-only"], env)
            counts.append(_instructions(command, env) - built)
        else:
            code = (_RUNS if runs else _PIPELINE).format(here=str(HERE))
            command = [sys.executable, "-c", code, workload, str(n), str(burst)]
            counts.append(_instructions(command, env))
    return (counts[1] - counts[0]) / (6000 if loop else 3000)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", default="trades,ticker,depth")
    parser.add_argument(
        "--ref", help="a commit to measure instead of the working tree ('worktree': the files)"
    )
    parser.add_argument("--loop", action="store_true", help="the whole read loop")
    parser.add_argument("--runs", action="store_true", help="receive_run + hub, no loop")
    parser.add_argument("--burst", type=int, default=300, help="--runs: frames per burst")
    args = parser.parse_args()
    src = export_ref(args.ref)[1] if args.ref not in (None, "worktree") else None
    what = "read loop" if args.loop else "receive_run + hub" if args.runs else "receive + hub"
    print(f"instructions per message ({what}, "
          f"{args.ref or 'working tree'})")  # fmt: skip
    for workload in args.workloads.split(","):
        count = per_message(workload, src, args.loop, args.runs, args.burst)
        print(f"| {workload} | {count:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
