"""What Granian serves for the peer, as `peer_site.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_site.settings")
application = get_wsgi_application()
