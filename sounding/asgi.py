"""What the web server runs: Django behind `sounding.front`."""

from sounding.front import in_front_of
from sounding.wsgi import application as django

application = in_front_of(django)
