"""What the web server runs: Django behind `sounding.front`, the respondent pages (/s/) on their
own handler (`sounding.collect.handler`) unless SOUNDING_RESPONDENT_FULL_STACK is on."""

from django.conf import settings

from sounding.collect.handler import RespondentHandler
from sounding.front import in_front_of
from sounding.wsgi import application as django

respondents = None if settings.RESPONDENT_FULL_STACK else RespondentHandler()
application = in_front_of(django, respondents=respondents)
