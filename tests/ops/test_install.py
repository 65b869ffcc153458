"""The README's demo install is enough for the demo, the `book` view and signing keys.

The demo command installs ``install_requires`` plus the ``local`` extra. A subprocess
blocks every third-party import outside those distributions (and what they require),
then runs the demo and the live book view and signs with an HMAC and an Ed25519 key: a
module that imports an undeclared package (as ``cryptography`` once was) fails here, not
on a user's fresh machine. ``.ci/run`` checks the same thing for real in a fresh venv.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

from .conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import importlib.abc, json, sys
allowed, pem = set(json.loads(sys.argv[1])), sys.argv[2]
blocked = []

class Undeclared(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top in allowed or top == "ccxtpro_sync":
            return None
        blocked.append(top)
        raise ModuleNotFoundError(f"No module named {name!r} (not declared)", name=name)

sys.meta_path.insert(0, Undeclared())
from ccxtpro_sync import Credentials
from ccxtpro_sync._cli import main
assert main(["demo", "--seconds", "0.3", "--interval", "0.1"]) == 0
assert main(["book", "--seconds", "0.3", "--speed", "10"]) == 0
assert Credentials("k", secret="s").sign("x")
ed25519 = Credentials("k", private_key=pem)
assert ed25519.key_type == "ed25519" and ed25519.sign("x")
print("BLOCKED " + json.dumps(sorted(set(blocked))))
"""


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _declared() -> set[str]:
    """The demo install's distributions: install_requires, the local extra, their requires."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"] + config["options.extras_require"]["local"]
    todo = [_name(line) for line in lines.splitlines() if line.strip()]
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo += [_name(r) for r in requires if "extra ==" not in r]
    return found


def _modules(distributions: set[str]) -> list[str]:
    return sorted(
        top
        for top, dists in importlib.metadata.packages_distributions().items()
        if any(_name(d) in distributions for d in dists)
    )


def test_demo_install_declares_everything_the_demo_book_and_keys_import() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    allowed = _modules(_declared())
    assert "msgspec" in allowed and "websockets" in allowed
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(allowed), pem.decode()],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "BLOCKED " in done.stdout  # the blocker ran (it may have hidden optional imports)
