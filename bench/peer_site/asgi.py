"""The peer behind the same front as Sounding, so both servers do the same work per request."""

from peer_site.wsgi import application as django
from sounding.front import in_front_of

application = in_front_of(django)
