"""Settings come from the environment; nothing needs to be set to start.

See docs/configuration.md for every variable.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Network, IPv6Network, ip_network

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from sounding.addresses import allowed_hosts
from sounding.datadir import data_dir, persistent_secret, private_file, read_secret
from sounding.destinations import apps as destination_apps
from sounding.destinations import settings as destination_settings
from sounding.settings_email import email_settings

DATA_DIR = data_dir()
BASE_DIR = os.path.dirname(os.path.abspath(__file__))


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _whole(name: str, raw: str) -> int:
    """A count from the environment; anything else stops the process, naming the variable."""
    if not raw.strip().isdigit():
        raise ImproperlyConfigured(f"{name} must be a whole number (0 or more), not {raw!r}.")
    return int(raw)


def _networks(name: str, raw: str) -> list[IPv4Network | IPv6Network]:
    try:
        return [ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()]
    except ValueError as error:
        raise ImproperlyConfigured(
            f"{name} must list IP addresses or networks (10.0.0.0/8), comma-separated: {error}."
        ) from error


SECRET_KEY = read_secret("SOUNDING_SECRET_KEY") or persistent_secret(DATA_DIR, "secret_key")
# Encrypts secrets at rest; a list so a key can be rotated (see sounding.vault).
ENCRYPTION_KEYS = (
    read_secret("SOUNDING_ENCRYPTION_KEY") or persistent_secret(DATA_DIR, "encryption_key")
).split(",")
DEBUG = _flag("SOUNDING_DEBUG")
# The public address of this installation, used in every link Sounding writes (emails, survey
# links shown to authors).
SITE_URL = os.environ.get("SOUNDING_SITE_URL", "").rstrip("/")
# Set by `sounding serve` and `sounding web` for themselves and their children: the address
# they were started on, the canonical one when SOUNDING_SITE_URL is not set. A link in an
# email is never built from a request's Host header, which anyone can write.
SERVED_AT = os.environ.get("SOUNDING_SERVED_AT", "").rstrip("/")
ALLOWED_HOSTS = allowed_hosts(os.environ.get("SOUNDING_ALLOWED_HOSTS", ""), SITE_URL, SERVED_AT)
CSRF_TRUSTED_ORIGINS = [SITE_URL] if SITE_URL else []

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "sounding.accounts",
    "sounding.surveys",
    "sounding.answers",
    "sounding.collect",
    "sounding.delivery",
    # Each registered destination's package is an app (its models, templates, migrations).
    *destination_apps(),
    "sounding.branding",
    "sounding.reports",
    "sounding.responses",
    "sounding.authoring",
    "sounding.api",
    "ninja",
]

# Debug pages and error reports hide every secret-bearing setting and variable, the database
# address (it carries its password) included.
DEFAULT_EXCEPTION_REPORTER_FILTER = "sounding.secrets.SecretsFilter"

# Requests under /s/ (the respondent pages) go to sounding.collect.handler, a shorter chain of
# the middleware below; on, they take this full stack like every other page.
RESPONDENT_FULL_STACK = _flag("SOUNDING_RESPONDENT_FULL_STACK")
MIDDLEWARE = [
    # Before the host check and the HTTPS redirect: a probe asks by address, over plain HTTP.
    "sounding.health.HealthMiddleware",
    "sounding.web_metrics.RequestMetricsMiddleware",
    # Outside everything that may answer by itself, so that every page, errors included,
    # carries the policy and templates find the nonce.
    "sounding.csp.ContentSecurityPolicy",
    "django.middleware.security.SecurityMiddleware",
    "sounding.api.json_errors.JsonErrors",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sounding.urls"
WSGI_APPLICATION = "sounding.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "survey-list"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(BASE_DIR, "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sounding.destinations.context.destination_pages",
            ],
        },
    },
    {
        # Respondent pages only (`<app>/jinja2/`), for speed; see sounding/jinja.py.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "sounding.jinja.environment",
            "autoescape": True,
            "auto_reload": DEBUG,
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(private_file(DATA_DIR / "sounding.sqlite3")),
            # Opening a connection runs the pragmas below and registers Django's SQL
            # functions: more work than a whole respondent request. Keep it open.
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on the
                # busy timeout instead of failing with "database is locked" on lock upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("pt", "Português"),
]
LOCALE_PATHS = [os.path.join(BASE_DIR, "locale")]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [os.path.join(BASE_DIR, "static")]
# Serve straight from the app directories: one command to run, no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_MAX_AGE = 3600

if _flag("SOUNDING_TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _flag("SOUNDING_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000

# EMAIL_BACKEND and the other EMAIL_* settings, from SOUNDING_EMAIL_URL (console when unset).
globals().update(email_settings(read_secret("SOUNDING_EMAIL_URL")))
DEFAULT_FROM_EMAIL = os.environ.get("SOUNDING_FROM_EMAIL", "sounding@localhost")

# Each destination's own settings, from its `conf` module (sounding.destinations.settings).
globals().update(destination_settings(os.environ))
# Required on /metrics when set; without it only loopback requests are answered.
METRICS_TOKEN = read_secret("SOUNDING_METRICS_TOKEN")
# A delivery worker whose heartbeat is older than this is dead: its leases are ended and
# /health says so (see sounding.delivery.heartbeat).
WORKER_DEAD_AFTER_SECONDS = _whole(
    "SOUNDING_WORKER_DEAD_AFTER_SECONDS",
    os.environ.get("SOUNDING_WORKER_DEAD_AFTER_SECONDS", "30"),
)
if WORKER_DEAD_AFTER_SECONDS < 1:
    raise ImproperlyConfigured("SOUNDING_WORKER_DEAD_AFTER_SECONDS must be at least 1.")
# Log every outbound request and response body (API keys masked) at DEBUG level.
WIRE_LOG = _flag("SOUNDING_WIRE_LOG")
# Seconds between the tries of a failing webhook endpoint (the Standard Webhooks schedule,
# stretched to about three days); after the last, the endpoint is turned off.
WEBHOOK_RETRY_SECONDS = [
    _whole("SOUNDING_WEBHOOK_RETRY_SECONDS", step)
    for step in os.environ.get(
        "SOUNDING_WEBHOOK_RETRY_SECONDS", "5,300,1800,7200,18000,36000,36000,72000,72000"
    ).split(",")
    if step.strip()
] or [5]

NINJA_PAGINATION_PER_PAGE = 50

# Production over HTTPS (docs/configuration.md#sounding_secure): secure cookies, a redirect
# from plain HTTP, and HSTS. Behind a proxy that terminates TLS this needs
# SOUNDING_TRUST_X_FORWARDED_PROTO too, or every request would look like plain HTTP.
if _flag("SOUNDING_SECURE"):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    # Prometheus usually scrapes over plain HTTP on the machine itself.
    SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
    SECURE_HSTS_SECONDS = _whole(
        "SOUNDING_HSTS_SECONDS", os.environ.get("SOUNDING_HSTS_SECONDS", "31536000")
    )
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Signed survey links: how long a replaced signing secret is still accepted.
SIGNING_GRACE_DAYS = _whole(
    "SOUNDING_SIGNING_GRACE_DAYS", os.environ.get("SOUNDING_SIGNING_GRACE_DAYS", "7")
)
# Answers a web process takes per minute from one client address and for one survey (see
# sounding.collect.ratelimit); 0 turns a limit off.
RATE_LIMIT_IP = _whole("SOUNDING_RATE_LIMIT_IP", os.environ.get("SOUNDING_RATE_LIMIT_IP", "600"))
RATE_LIMIT_SURVEY = _whole(
    "SOUNDING_RATE_LIMIT_SURVEY", os.environ.get("SOUNDING_RATE_LIMIT_SURVEY", "30000")
)
# A link that carries an answer (one-click scores in an email) only shows it selected: mail
# scanners open every link. It counts once the person confirms it: a submit, a tap on the
# page, or, with JavaScript, the page having been visible this many seconds (0: never by
# time alone). Clicks of one person this close together, with different answers, are a
# scanner's, and time alone never confirms them (see sounding.collect.clicks).
CONFIRM_AFTER_SECONDS = _whole(
    "SOUNDING_CONFIRM_AFTER_SECONDS", os.environ.get("SOUNDING_CONFIRM_AFTER_SECONDS", "4")
)
CLICK_BURST_SECONDS = _whole(
    "SOUNDING_CLICK_BURST_SECONDS", os.environ.get("SOUNDING_CLICK_BURST_SECONDS", "120")
)
# Failed sign-ins: how long an account or address stays locked, and how long a quiet spell
# makes its failures forgotten (see sounding.accounts.signin_limits).
SIGNIN_LOCKOUT_SECONDS = _whole(
    "SOUNDING_SIGNIN_LOCKOUT_SECONDS", os.environ.get("SOUNDING_SIGNIN_LOCKOUT_SECONDS", "900")
)
if SIGNIN_LOCKOUT_SECONDS < 1:
    raise ImproperlyConfigured("SOUNDING_SIGNIN_LOCKOUT_SECONDS must be at least 1.")
# Reverse proxies whose X-Forwarded-For names the client, for the per-address limits.
TRUSTED_PROXIES = _networks(
    "SOUNDING_TRUSTED_PROXIES", os.environ.get("SOUNDING_TRUSTED_PROXIES", "")
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SOUNDING_LOG_LEVEL", "INFO")},
    # httpx logs every request at INFO: the delivery log already records each one.
    "loggers": {"django.server": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
