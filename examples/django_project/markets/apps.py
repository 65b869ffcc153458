from django.apps import AppConfig


class MarketsConfig(AppConfig):
    name = "markets"

    def ready(self) -> None:
        from .client import market_client

        # Not in runserver's autoreloader process, not in `migrate`, `shell`, `test`...:
        # only where requests are served. Closed at exit (DjangoClient registers atexit).
        market_client.start_if_serving()
