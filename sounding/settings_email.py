"""How Sounding sends email, from one URL (`SOUNDING_EMAIL_URL`).

    console:                                  print every message to the process's output
    smtp://user:password@host:587?tls=1       SMTP with STARTTLS
    smtps://user:password@host:465            SMTP over TLS from the first byte
    file:///var/lib/sounding/mail             one file per message in that directory
    dummy:                                    accept messages and send nothing

A user name or password containing `@`, `:` or `/` is written percent-encoded (`%40`...).
A wrong URL stops the process at start with a message naming the problem, rather than
failing later when someone asks for a password reset.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
# An SMTP server that stops answering must not hold a web worker for long.
DEFAULT_TIMEOUT = 10
OPTIONS = {"tls", "ssl", "timeout"}
YES = {"1", "true", "yes", "on"}
NO = {"0", "false", "no", "off"}


def _fail(problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"SOUNDING_EMAIL_URL {problem}. Examples: 'console:', "
        "'smtp://user:password@smtp.example.com:587?tls=1' (see docs/configuration.md)."
    )


def _flag(options: dict[str, str], name: str) -> bool:
    value = options.get(name, "0").strip().lower()
    if value not in YES | NO:
        raise _fail(f"has {name}={value!r}: use 1 or 0")
    return value in YES


def _options(query: str) -> dict[str, str]:
    parsed = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(parsed) - OPTIONS)
    if unknown:
        raise _fail(f"has unknown option(s) {', '.join(unknown)} (known: tls, ssl, timeout)")
    return {name: values[-1] for name, values in parsed.items()}


def _timeout(options: dict[str, str]) -> int:
    raw = options.get("timeout", str(DEFAULT_TIMEOUT))
    if not raw.isdigit() or int(raw) == 0:
        raise _fail(f"has timeout={raw!r}: use a whole number of seconds")
    return int(raw)


def _smtp(scheme: str, url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    options = _options(parts.query)
    if not parts.hostname:
        raise _fail("names no SMTP host")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as error:
        raise _fail(f"has a bad port ({error})") from None
    use_ssl = scheme == "smtps" or _flag(options, "ssl")
    use_tls = _flag(options, "tls")
    if use_ssl and use_tls:
        raise _fail("asks for both tls (STARTTLS) and ssl: pick one")
    return {
        "EMAIL_BACKEND": BACKENDS[scheme],
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        "EMAIL_TIMEOUT": _timeout(options),
    }


def _file(url: str) -> dict[str, Any]:
    path = unquote(urlsplit(url).path)
    if not path.startswith("/"):
        raise _fail("needs an absolute directory for file: ('file:///var/lib/sounding/mail')")
    return {"EMAIL_BACKEND": BACKENDS["file"], "EMAIL_FILE_PATH": path}


def email_settings(url: str | None) -> dict[str, Any]:
    """Django's EMAIL_* settings for `url`; the console backend when it is empty."""
    url = (url or "").strip()
    if not url:
        return {"EMAIL_BACKEND": BACKENDS["console"]}
    scheme, colon, _ = url.partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in BACKENDS:
        raise _fail(f"starts with {scheme!r}, which is not one of {', '.join(BACKENDS)}")
    if scheme in DEFAULT_PORTS:
        return _smtp(scheme, url)
    if scheme == "file":
        return _file(url)
    return {"EMAIL_BACKEND": BACKENDS[scheme]}
