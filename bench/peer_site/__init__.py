"""The smallest Django project that serves django-survey-and-report, for bench/peer.py.

It runs in bench/.peer-venv, never in Sounding's environment. Its settings follow Django's
`startproject` defaults, with the database options Sounding itself uses, so the comparison is
between the two applications and not between two database setups.
"""
