"""Sign-in limits: growing delays then a lockout, per account and per client address, decided
before any password is hashed, with counts kept in the database (sounding.accounts.signin_limits).

Time is the throttle's clock, moved by hand; the hasher is counted by wrapping the tests' MD5
hasher, which every password check and every check of an unknown email goes through.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sounding.accounts import signin_limits, throttle
from sounding.accounts.models import Throttle, User
from sounding.accounts.signin_limits import ACCOUNT, ADDRESS
from tests.conftest import PASSWORD
from tests.throttle_fixtures import Clock

LOGIN = reverse("login")
WRONG = "not the password"


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry each time the password hasher runs."""
    ran: list[str] = []
    encode = MD5PasswordHasher.encode

    def counted(self: MD5PasswordHasher, password: str, salt: str) -> str:
        ran.append(password)
        return encode(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counted)
    return ran


def sign_in(email: str, password: str, address: str = "192.0.2.10", **extra: str) -> Any:
    return Client(REMOTE_ADDR=address, **extra).post(
        LOGIN, {"username": email, "password": password}
    )


def comparable(page: str, email: str) -> str:
    """The page without what differs between any two answers: tokens, nonces, the email."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)
    return re.sub(r'nonce(-[A-Za-z0-9+/=]+|="[^"]*")', "", page).replace(email, "EMAIL")


def failures(scope: str, subject: str) -> int:
    """The failures counted now (a count past its window is forgotten, row or not)."""
    wanted = throttle.Subject(scope, subject)
    return throttle.read([wanted], throttle.clock())[wanted].events


def test_the_policies_numbers() -> None:
    window = 900
    assert [ACCOUNT.wait_after(n, window) for n in range(12)] == [
        0, 0, 0, 0, 2, 4, 8, 16, 32, 64, 900, 900,
    ]  # fmt: skip
    assert [ADDRESS.wait_after(n, window) for n in (20, 21, 22, 25, 26, 40, 49, 50)] == [
        0, 2, 4, 32, 60, 60, 60, 900,
    ]  # fmt: skip
    # A short window caps the delays: nothing waits longer than a lockout.
    assert ACCOUNT.wait_after(9, 3) == 3


@pytest.mark.django_db
def test_failures_slow_an_account_down_then_lock_it_and_the_right_password_waits_too(
    owner: User, clock: Clock, hashes: list[str], settings: Any
) -> None:
    settings.SIGNIN_LOCKOUT_SECONDS = 900
    for _ in range(4):  # three free, and the fourth is tried at once too
        assert sign_in(owner.email, WRONG).status_code == 200
    assert len(hashes) == 4 and failures(ACCOUNT.scope, owner.email) == 4

    hashes.clear()
    refused = sign_in(owner.email, PASSWORD)  # right, but too soon: not even tried
    assert refused.status_code == 429
    assert refused["Retry-After"] == "2"
    page = refused.content.decode()
    assert "Too many failed sign-ins for this email. Try again in 2 seconds" in page
    assert 'name="username"' in page and 'name="password"' in page  # the form is still there
    assert "_auth_user_id" not in refused.wsgi_request.session
    assert hashes == [] and failures(ACCOUNT.scope, owner.email) == 4

    # Each further failure doubles the wait: 4, 8, 16, 32, 64 seconds.
    for wait in (2, 4, 8, 16, 32):
        clock.advance(wait)
        assert sign_in(owner.email, WRONG).status_code == 200
        assert sign_in(owner.email, WRONG).status_code == 429
    assert failures(ACCOUNT.scope, owner.email) == 9
    clock.advance(64)
    assert sign_in(owner.email, WRONG).status_code == 200  # the tenth: locked
    locked = sign_in(owner.email, PASSWORD)
    assert locked.status_code == 429 and locked["Retry-After"] == "900"
    assert "Try again in 15 minutes" in locked.content.decode()
    clock.advance(899)
    assert sign_in(owner.email, PASSWORD).status_code == 429
    clock.advance(1)
    signed_in = sign_in(owner.email, PASSWORD)
    assert signed_in.status_code == 302 and signed_in["Location"] == reverse("survey-list")
    assert failures(ACCOUNT.scope, owner.email) == 0


@pytest.mark.django_db
def test_a_refused_attempt_only_reads(owner: User, clock: Clock) -> None:
    for _ in range(4):
        sign_in(owner.email, WRONG)
    with CaptureQueriesContext(connection) as queries:
        assert sign_in(owner.email, WRONG).status_code == 429
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert statements and set(statements) == {"SELECT"}, statements


@pytest.mark.django_db
def test_an_email_without_an_account_is_treated_the_same(
    owner: User, clock: Clock, hashes: list[str]
) -> None:
    """Whether an account exists shows neither in the answers nor in the work done."""
    answers = {}
    for email in (owner.email, "nobody@acme.test"):
        hashes.clear()
        statuses = [sign_in(email, WRONG).status_code for _ in range(6)]
        last = sign_in(email, WRONG).content.decode()
        answers[email] = (statuses, len(hashes), comparable(last, email))
    assert answers[owner.email] == answers["nobody@acme.test"]
    assert answers[owner.email][:2] == ([200, 200, 200, 200, 429, 429], 4)


@pytest.mark.django_db
def test_the_email_is_counted_however_it_is_typed(owner: User, clock: Clock) -> None:
    for typed in ("Owner@acme.test", " OWNER@ACME.TEST", "owner@Acme.Test", "owner@acme.test"):
        assert sign_in(typed, WRONG).status_code == 200
    assert sign_in("OWNER@acme.TEST", PASSWORD).status_code == 429
    assert failures(ACCOUNT.scope, "owner@acme.test") == 4


@pytest.mark.django_db
def test_a_success_clears_the_account_but_not_the_address(owner: User, clock: Clock) -> None:
    for _ in range(3):
        sign_in(owner.email, WRONG)
    assert sign_in(owner.email, PASSWORD).status_code == 302
    assert failures(ACCOUNT.scope, owner.email) == 0
    assert failures(ADDRESS.scope, "192.0.2.10") == 3


@pytest.mark.django_db
def test_one_address_trying_many_emails_is_slowed_then_locked(
    owner: User, clock: Clock, hashes: list[str], settings: Any
) -> None:
    for n in range(ADDRESS.free + 1):  # one try per email: no account limit is reached
        assert sign_in(f"guess{n}@acme.test", WRONG).status_code == 200
    hashes.clear()
    refused = sign_in("another@acme.test", WRONG)
    assert refused.status_code == 429 and refused["Retry-After"] == "2"
    assert "Too many failed sign-ins from your network. Try again in 2 seconds" in (
        refused.content.decode()
    )
    # The owner, from that address, waits as well; from another address they sign in.
    assert sign_in(owner.email, PASSWORD).status_code == 429
    assert hashes == []
    assert sign_in(owner.email, PASSWORD, address="198.51.100.7").status_code == 302

    # Delays double up to a minute, then stay there until the lockout.
    clock.advance(2)
    assert sign_in("guess-a@acme.test", WRONG).status_code == 200
    assert sign_in("guess-b@acme.test", WRONG)["Retry-After"] == "4"
    failed = ADDRESS.free + 2
    while failed < ADDRESS.lockout_at:
        clock.advance(60)
        assert sign_in(f"more{failed}@acme.test", WRONG).status_code == 200
        failed += 1
    locked = sign_in(owner.email, PASSWORD)
    assert locked.status_code == 429 and locked["Retry-After"] == str(
        settings.SIGNIN_LOCKOUT_SECONDS
    )
    # A success elsewhere does not clear the address.
    assert failures(ADDRESS.scope, "192.0.2.10") == ADDRESS.lockout_at


@pytest.mark.django_db
def test_an_ipv6_client_counts_by_its_64(owner: User, clock: Clock) -> None:
    for n in range(ADDRESS.free + 1):
        sign_in(f"guess{n}@acme.test", WRONG, address=f"2001:db8:1:2::{n + 1:x}")
    assert sign_in("x@acme.test", WRONG, address="2001:db8:1:2:ffff::1").status_code == 429
    assert sign_in("x@acme.test", WRONG, address="2001:db8:1:3::1").status_code == 200


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(
    owner: User, clock: Clock, settings: Any
) -> None:
    from ipaddress import ip_network

    settings.TRUSTED_PROXIES = [ip_network("10.0.0.1/32")]
    for n in range(ADDRESS.free + 1):
        sign_in(f"g{n}@acme.test", WRONG, address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert (
        sign_in("x@acme.test", WRONG, address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    ).status_code == 429
    # Another client behind the same proxy is not held up.
    assert (
        sign_in("x@acme.test", WRONG, address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10")
    ).status_code == 200


@pytest.mark.django_db
def test_failures_are_forgotten_after_a_quiet_window(
    owner: User, clock: Clock, settings: Any
) -> None:
    settings.SIGNIN_LOCKOUT_SECONDS = 60
    for _ in range(4):
        sign_in(owner.email, WRONG)
    clock.advance(59)
    sign_in(owner.email, WRONG)  # after the 2 s delay: the fifth failure, and the clock restarts
    assert failures(ACCOUNT.scope, owner.email) == 5
    clock.advance(60)
    for _ in range(4):  # forgotten: three free again, and the fourth
        assert sign_in(owner.email, WRONG).status_code == 200
    assert failures(ACCOUNT.scope, owner.email) == 4


@pytest.mark.django_db
def test_a_form_with_a_field_missing_counts_nothing(owner: User, clock: Clock) -> None:
    for _ in range(10):
        assert sign_in(owner.email, "").status_code == 200
        assert sign_in("not an email", WRONG).status_code == 200
    assert not Throttle.objects.exists()


@pytest.mark.django_db
def test_api_tokens_are_not_affected(
    owner: User, owner_token: str, clock: Clock, hashes: list[str]
) -> None:
    for _ in range(12):
        sign_in(owner.email, WRONG)
    assert sign_in(owner.email, PASSWORD).status_code == 429
    hashes.clear()
    api = Client(REMOTE_ADDR="192.0.2.10")
    assert api.get("/api/v1/surveys", HTTP_AUTHORIZATION=f"Bearer {owner_token}").status_code == 200
    rows = Throttle.objects.count()
    for _ in range(20):
        bad = api.get("/api/v1/surveys", HTTP_AUTHORIZATION="Bearer snd_wrong")
        assert bad.status_code == 401
    assert Throttle.objects.count() == rows and hashes == []


@pytest.mark.any_db  # a process of its own, without DATABASE_URL
def test_the_lockout_window_setting_is_read_from_the_environment(tmp_path: Any) -> None:
    import subprocess
    import sys

    from tests.procs import cli_env

    def run(value: str) -> subprocess.CompletedProcess[str]:
        env = {**cli_env(tmp_path), "SOUNDING_SIGNIN_LOCKOUT_SECONDS": value}
        code = "from django.conf import settings; print(settings.SIGNIN_LOCKOUT_SECONDS)"
        return subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env=env,
            capture_output=True,
            text=True,
        )

    assert run("42").stdout.strip() == "42"
    for bad in ("0", "soon"):
        failed = run(bad)
        assert failed.returncode != 0 and "SOUNDING_SIGNIN_LOCKOUT_SECONDS" in failed.stderr


# --- Under concurrency ----------------------------------------------------------------------


@pytest.fixture
def all_read_first(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Barrier]:
    """Make every concurrent attempt read its counts before any records a failure, so that
    all of them are let through and fail together."""
    barrier = threading.Barrier(8, timeout=30)
    read = throttle.read

    def read_then_wait(*args: Any, **kwargs: Any) -> Any:
        counts = read(*args, **kwargs)
        if threading.current_thread() is not threading.main_thread():
            barrier.wait()
        return counts

    monkeypatch.setattr(throttle, "read", read_then_wait)
    yield barrier
    barrier.abort()


def wait_while_locked(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    """What SQLite's busy timeout does for a database file: the tests' in-memory database
    answers "table is locked" at once instead of waiting. A statement that failed so changed
    nothing: running it again counts nothing twice."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return execute(sql, params, many, context)
        except OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.001)


def run_threads(count: int, work: Any) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            if connection.vendor == "sqlite":
                with connection.execute_wrapper(wait_while_locked):
                    work(index)
            else:
                work(index)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_on_one_account_are_each_counted(
    all_read_first: threading.Barrier,
) -> None:
    User.objects.create_user("target@acme.test", PASSWORD)
    statuses: list[int] = []

    def fail(index: int) -> None:
        statuses.append(sign_in("target@acme.test", WRONG, address=f"192.0.2.{index}").status_code)

    assert run_threads(8, fail) == []
    assert statuses == [200] * 8
    assert failures(ACCOUNT.scope, "target@acme.test") == 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_counting_loses_nothing_and_never_collides() -> None:
    """Many threads counting at once, most of them creating a subject's first row."""
    now = timezone.now()
    span = timedelta(minutes=15)

    def count(index: int) -> None:
        for n in range(20):
            throttle.record(throttle.Subject("test", f"s{n}"), now, span, sliding=True)
            throttle.record(throttle.Subject("test", "shared"), now, span, sliding=True)

    assert run_threads(6, count) == []
    events = dict(Throttle.objects.filter(scope="test").values_list("subject", "events"))
    assert events.pop("shared") == 6 * 20
    assert events == {f"s{n}": 6 for n in range(20)}


# --- Keeping the table small -----------------------------------------------------------------


@pytest.mark.django_db
def test_forgotten_rows_are_purged_a_batch_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    now = timezone.now()
    old = now - throttle.PURGE_AFTER - timedelta(minutes=1)
    Throttle.objects.bulk_create(
        Throttle(scope="test", subject=f"old{n}", events=1, last_at=old, reset_at=old)
        for n in range(throttle.PURGE_BATCH + 5)
    )
    recent = now - timedelta(hours=1)
    Throttle.objects.create(
        scope="test", subject="recent", events=1, last_at=recent, reset_at=recent
    )
    monkeypatch.setattr(throttle, "dice", lambda: 0.0)  # this write purges
    throttle.record(throttle.Subject("test", "new"), now, timedelta(minutes=15), sliding=True)
    assert Throttle.objects.count() == 5 + 2
    throttle.purge(now)
    assert set(Throttle.objects.values_list("subject", flat=True)) == {"recent", "new"}
    monkeypatch.setattr(throttle, "dice", lambda: 0.5)  # most writes do not
    throttle.record(throttle.Subject("test", "other"), now, timedelta(minutes=15), sliding=True)
    assert Throttle.objects.count() == 3


def test_waits_are_said_in_seconds_then_minutes() -> None:
    assert throttle.wait_text(1) == "1 second"
    assert throttle.wait_text(59) == "59 seconds"
    assert throttle.wait_text(60) == "1 minute"
    assert throttle.wait_text(61) == "2 minutes"
    assert throttle.wait_text(900) == "15 minutes"


def test_the_module_documents_the_policy() -> None:
    assert signin_limits.__doc__ and "lockout" in signin_limits.__doc__
