"""Optional integrations; each module needs only its own extra.

* :mod:`ccxtpro_sync.contrib.logging`: every signal to a stdlib logger, structured.
* :mod:`ccxtpro_sync.contrib.prometheus`: a collector for ``prometheus-client``
  (extra ``prometheus``).
* :mod:`ccxtpro_sync.contrib.django`: start a client in ``AppConfig.ready()``, guarded
  for the autoreloader and management commands (extra ``django``).
* :mod:`ccxtpro_sync.contrib.celery`: one client per worker process (extra ``celery``).

:class:`ProcessLocalClient` (no extra) is what the last two build on.
"""

from __future__ import annotations

from ._process import ProcessLocalClient

__all__ = ["ProcessLocalClient"]
