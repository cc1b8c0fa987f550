"""Settings of the peer project: `startproject`'s defaults, Sounding's database options.

PEER_DATA_DIR (required) holds the SQLite file; PEER_DATABASE, when set, names a PostgreSQL
database on 127.0.0.1:5432 instead. PEER_SECRET_KEY must be the same in every process.
PEER_STOCK_DATABASE=1 leaves the database options at Django's defaults.
"""

import os
from pathlib import Path

DATA_DIR = Path(os.environ["PEER_DATA_DIR"])
SECRET_KEY = os.environ["PEER_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "survey",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "peer_site.urls"
WSGI_APPLICATION = "peer_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The same connection handling as Sounding (sounding/settings.py): connections kept open
# between requests, and on SQLite WAL with writers queueing at BEGIN. PEER_STOCK_DATABASE=1
# keeps `startproject`'s instead: a new connection per request, SQLite's default journal.
if os.environ.get("PEER_STOCK_DATABASE") == "1":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["PEER_DATABASE"],
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
        }
        if os.environ.get("PEER_DATABASE")
        else {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA_DIR / "peer.sqlite3")}
    }
elif os.environ.get("PEER_DATABASE"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["PEER_DATABASE"],
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "peer.sqlite3"),
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
LOGIN_URL = "/admin/login/"
