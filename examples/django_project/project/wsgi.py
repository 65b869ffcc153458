"""WSGI entry point (``gunicorn project.wsgi``). With ``--preload`` the app is loaded in
the master and forked: ``market_client`` then makes a fresh client in each worker."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
application = get_wsgi_application()
