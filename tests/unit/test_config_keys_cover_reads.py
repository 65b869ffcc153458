"""Every config and options key the Binance client reads is a known key (a key read but
not registered would make the client refuse its own documented option)."""

from __future__ import annotations

import pathlib
import re

from ccxtpro_sync._exchanges.binance import config_keys

PACKAGE = pathlib.Path(config_keys.__file__).parent
READ = re.compile(r'\b(settings|options)\.get\("([A-Za-z]+)"')


def test_every_key_the_client_reads_is_registered() -> None:
    read: dict[str, set[str]] = {"settings": set(), "options": set()}
    for path in PACKAGE.glob("*.py"):
        for where, key in READ.findall(path.read_text()):
            read[where].add(key)
    assert read["settings"] and read["options"]  # the scan found the reads
    assert read["settings"] - config_keys.CONFIG_KEYS == set()
    assert read["options"] - config_keys.OPTIONS == set()
