"""The Python blocks of README.md and docs/*.md run as written, against the local exchange.

The convention (docs follow it; this test enforces it):

* A fenced ``python`` block is a whole program: it runs alone, with its own imports and
  nothing defined by an earlier block. Each one runs here in a fresh Python process.
* A block that is not meant to run alone (an API sketch, one file of a larger project,
  notebook cells that continue an earlier cell, another library's code) starts with the
  line ``# fragment: <why>``. It is not run.
* Docs name no path outside the repository.

A block that talks to Binance (no ``environment``, or ``prod``/``testnet``/``demo``) runs
unchanged: in its process every client is pointed at a local exchange started there, and
``BINANCE_LOCAL_API_KEY``/``_PRIVATE_KEY_PATH`` name an Ed25519 key registered on it, so
a block that reads keys from the environment finds them. What a user copies is what runs.
``docs/private.md`` (internals of the private API, owned by that work) is left out.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]
FRAGMENT = "# fragment:"
DOCS = [
    ROOT / "README.md",
    *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "private.md"),
]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

# Runs before each block in its process: a local exchange, every client pointed at it,
# and an Ed25519 key registered there and named by BINANCE_LOCAL_* variables.
PRELUDE = """
import os, secrets, sys, tempfile
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

_exchange = LocalExchange(seed=1).start()
_key = Ed25519PrivateKey.generate()
_public = _key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
_api_key = secrets.token_hex(32)  # Binance-shaped: 64 alphanumerics
_exchange.add_account(api_key=_api_key, public_key=_public,
                      balances={"USDT": 10000, "BTC": 1}, usdm_balances={"USDT": 10000})
_path = os.path.join(tempfile.mkdtemp(), "docs-key.pem")
with open(_path, "wb") as _file:
    _file.write(_key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
os.environ.update(BINANCE_LOCAL_API_KEY=_api_key, BINANCE_LOCAL_PRIVATE_KEY_PATH=_path)


def _pointed(init):
    def __init__(self, config=None, *args, **kwargs):
        config = dict(config or {})
        if config.get("environment", "prod") != "local":
            config.update(environment="local", local=_exchange)
        init(self, config, *args, **kwargs)
    return __init__


for _kind in (ccxtpro_sync.binance, ccxtpro_sync.binanceusdm, ccxtpro_sync.binancecoinm):
    if "__init__" in vars(_kind):
        _kind.__init__ = _pointed(vars(_kind)["__init__"])

import ast
_source, _name, _line = sys.argv[1], sys.argv[2], int(sys.argv[3])
_tree = ast.parse(_source, _name)
ast.increment_lineno(_tree, _line)  # tracebacks name the line in the doc
exec(compile(_tree, _name, "exec"), {"__name__": "__main__"})
"""


def blocks() -> list[tuple[str, int, str]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((str(path.relative_to(ROOT)), line, match.group(1)))
    return found


RUNNABLE = [b for b in blocks() if not b[2].startswith(FRAGMENT)]


def test_the_convention_is_in_use() -> None:
    fragments = [b for b in blocks() if b[2].startswith(FRAGMENT)]
    assert len(RUNNABLE) >= 10 and fragments
    for name, line, source in fragments:
        reason = source.splitlines()[0].removeprefix(FRAGMENT).strip()
        assert reason, f"{name}:{line}: say why it is a fragment"


@pytest.mark.parametrize(
    ("name", "line", "source"), RUNNABLE, ids=[f"{b[0]}:{b[1]}" for b in RUNNABLE]
)
def test_runnable_block_runs(tmp_path: Path, name: str, line: int, source: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE, source, name, str(line)],
        cwd=tmp_path,  # files a block writes (market.db) land here
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{name}:{line}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"


def test_docs_name_no_path_outside_the_repository() -> None:
    outside = re.compile(r"(?<![\w./-])(/(?:work|home|Users|root|tmp|opt|mnt)/[\w./-]+|~/[\w./-]+)")
    texts = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "examples").rglob("*.md")]
    found = [f"{p.relative_to(ROOT)}: {m}" for p in texts for m in outside.findall(p.read_text())]
    assert not found, found


def test_every_example_readme_says_the_extra_and_whether_sim_must_run() -> None:
    examples = ROOT / "examples"
    readmes = sorted(examples.rglob("README.md"))
    assert examples / "README.md" in readmes and len(readmes) >= 3
    for readme in readmes:
        text = readme.read_text(encoding="utf-8")
        assert re.search(r"pip install -e '\.\[local[\w,]*\]'", text), readme
        assert "ccxtpro-sync sim" in text and "second terminal" in text, readme
    index = (examples / "README.md").read_text(encoding="utf-8")
    shown = [p.name for p in examples.iterdir() if not p.name.startswith(("_", "."))]
    missing = [name for name in shown if name != "README.md" and name not in index]
    assert not missing, f"examples/README.md does not mention {missing}"
