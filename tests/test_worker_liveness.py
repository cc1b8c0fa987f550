"""Whether a delivery worker is alive comes from the heartbeat it keeps in the database, never
from a process id: containers that share a host name each have their own process ids, and a
worker on another machine cannot be looked up at all.

A dead worker's leases are ended (a push with a request still out only once that request
would have timed out) and its row is removed; a live one keeps everything it holds.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from sounding.answers.models import Response
from sounding.delivery import claim, heartbeat, worker
from sounding.delivery.models import Attempt, Outcome, Push, Worker
from sounding.surveys.models import Survey

BOUND = timedelta(seconds=30)
HOST = socket.gethostname()


@pytest.fixture(autouse=True)
def _bound(settings: Any) -> None:
    settings.WORKER_DEAD_AFTER_SECONDS = 30


def a_pid_that_is_gone() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def worker_row(worker_id: str, beat_seconds_ago: float, pid: int = 1) -> Worker:
    host, _, _ = worker_id.partition(":")
    beat = timezone.now() - timedelta(seconds=beat_seconds_ago)
    return Worker.objects.create(id=worker_id, host=host, pid=pid, beat_at=beat)


def leased_push(survey: Survey, who: str, holder: str) -> Push:
    response = Response.objects.create(
        survey=survey, identity_kind="braze_id", identity_value=who, identities={"braze_id": who}
    )
    return Push.objects.create(
        response=response,
        workspace_id=survey.workspace_id,
        destination="braze",
        user_key=f"braze_id:{who}",
        claimed_by=holder,
        claimed_until=timezone.now() + claim.LEASE,
    )


def lease_ended(push: Push) -> bool:
    push.refresh_from_db()
    assert push.claimed_until is not None
    return push.claimed_until <= timezone.now()


@pytest.mark.django_db
def test_a_worker_whose_beat_stopped_loses_its_leases_though_its_pid_is_alive_here(
    live_survey: Survey,
) -> None:
    # Another container with the same host name: its worker's pid is some live process here.
    holder = f"{HOST}:{os.getpid()}:gone01"
    worker_row(holder, beat_seconds_ago=60, pid=os.getpid())
    push = leased_push(live_survey, "u-1", holder)

    assert claim.release_dead(BOUND) == 1

    assert lease_ended(push)
    assert not Worker.objects.filter(id=holder).exists()


@pytest.mark.django_db
def test_a_worker_that_beats_keeps_its_leases_though_its_pid_is_gone_here(
    live_survey: Survey,
) -> None:
    # Another container with the same host name, alive: its pid means nothing in this one.
    holder = f"{HOST}:{a_pid_that_is_gone()}:alive1"
    worker_row(holder, beat_seconds_ago=2)
    push = leased_push(live_survey, "u-1", holder)

    assert claim.release_dead(BOUND) == 0

    assert not lease_ended(push)
    assert Worker.objects.filter(id=holder).exists()


@pytest.mark.django_db
def test_only_the_workers_whose_beat_is_older_than_the_bound_are_dead(
    live_survey: Survey,
) -> None:
    worker_row("machine-a:10:late01", beat_seconds_ago=29)
    worker_row("machine-b:10:dead01", beat_seconds_ago=31)
    late = leased_push(live_survey, "u-1", "machine-a:10:late01")
    dead = leased_push(live_survey, "u-2", "machine-b:10:dead01")

    claim.release_dead(BOUND)

    assert not lease_ended(late) and lease_ended(dead)
    assert list(Worker.objects.values_list("id", flat=True)) == ["machine-a:10:late01"]


@pytest.mark.django_db
def test_a_dead_workers_request_in_flight_keeps_its_person_until_it_would_have_timed_out(
    live_survey: Survey,
) -> None:
    holder = "machine-b:10:dead01"
    worker_row(holder, beat_seconds_ago=60)
    sending = leased_push(live_survey, "u-1", holder)
    idle = leased_push(live_survey, "u-2", holder)
    started = timezone.now() - timedelta(seconds=5)
    Attempt.objects.create(push=sending, request_id="r1", started_at=started)

    assert claim.release_dead(BOUND) == 2

    assert lease_ended(idle)
    sending.refresh_from_db()
    assert sending.claimed_until == started + claim.in_flight()
    # The holder stays written on both: the next claim counts what the request may have done.
    assert {sending.claimed_by, Push.objects.get(pk=idle.pk).claimed_by} == {holder}


@pytest.mark.django_db
def test_a_worker_that_finished_its_request_before_dying_frees_the_person_at_once(
    live_survey: Survey,
) -> None:
    holder = "machine-b:10:dead01"
    worker_row(holder, beat_seconds_ago=60)
    push = leased_push(live_survey, "u-1", holder)
    Attempt.objects.create(push=push, request_id="r1", outcome=Outcome.OK)

    claim.release_dead(BOUND)

    assert lease_ended(push)


@pytest.mark.django_db
def test_a_beat_moves_the_workers_time_and_ends_the_leases_of_the_dead(
    live_survey: Survey,
) -> None:
    me = "machine-a:10:mine01"
    worker_row(me, beat_seconds_ago=4)
    worker_row("machine-b:10:dead01", beat_seconds_ago=60)
    dead = leased_push(live_survey, "u-1", "machine-b:10:dead01")
    before = Worker.objects.get(id=me).beat_at

    assert heartbeat.Heartbeat(me, threading.Event()).once()

    assert Worker.objects.get(id=me).beat_at > before
    assert lease_ended(dead)
    assert list(Worker.objects.values_list("id", flat=True)) == [me]


@pytest.mark.django_db
def test_a_worker_taken_for_dead_comes_back_on_its_next_beat(live_survey: Survey) -> None:
    me = "machine-a:10:slow01"
    worker_row(me, beat_seconds_ago=60)
    push = leased_push(live_survey, "u-1", me)
    claim.release_dead(BOUND)  # another worker's beat, while this one was paused

    heartbeat.beat(me)

    row = Worker.objects.get(id=me)
    assert row.host == HOST and row.pid == os.getpid()
    # Its leases stay ended; it renews what it still holds before sending anything.
    assert lease_ended(push)
    assert claim.renew([push.pk], me) == {push.pk}


@pytest.mark.django_db
def test_a_worker_stopping_cleanly_hands_back_its_leases_and_removes_its_row(
    live_survey: Survey,
) -> None:
    me = "machine-a:10:stop01"
    worker_row(me, beat_seconds_ago=1)
    push = leased_push(live_survey, "u-1", me)

    worker.leave(me)

    assert lease_ended(push)
    assert not Worker.objects.exists()
