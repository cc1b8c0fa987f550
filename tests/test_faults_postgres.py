"""PostgreSQL restarted while answers are collected and delivered.

The web process and the delivery worker run against a throwaway PostgreSQL cluster of the
test's own (never the machine's shared server, on which the suite itself runs), which is
restarted in the middle: connections cut, transactions in progress rolled back. After it the
four promises hold (see `check_promises` in tests/delivery_fixtures.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from tests.delivery_fixtures import (
    ambiguous_events,
    check_promises,
    duplicate_events,
    process_state,
    settled,
)
from tests.procs import (
    POSTGRES_BIN,
    PostgresUnavailable,
    Processes,
    ThrowawayPostgres,
    free_port,
    throwaway_postgres,
    wait_for,
)
from tests.standin import StandinHarness
from tests.test_faults_processes import CHOICES, Respondents, people, prepare, start_web

pytestmark = pytest.mark.process


@pytest.fixture
def cluster() -> Iterator[ThrowawayPostgres]:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL set): once is enough")
    try:
        with throwaway_postgres() as server:
            yield server
    except PostgresUnavailable as why:
        if os.environ.get("CI") == "true" and (POSTGRES_BIN / "initdb").exists():
            pytest.fail(f"CI=true and PostgreSQL is installed, yet no cluster can run: {why}")
        pytest.skip(f"no throwaway PostgreSQL cluster here: {why}")


def test_a_postgresql_restart_during_delivery_loses_nothing_and_sends_nothing_twice(
    processes: Processes, braze_standin: StandinHarness, cluster: ThrowawayPostgres
) -> None:
    processes.env["DATABASE_URL"] = cluster.url
    slug = prepare(processes, braze_standin)
    port = free_port()
    web = Respondents(f"http://127.0.0.1:{port}", slug, proc=start_web(processes, port))
    processes.start("worker")
    # Slowish answers from Braze: the restart finds requests in flight, whose outcome the
    # worker then has to write to a database that went away.
    braze_standin.queue(*[{"kind": "slow", "seconds": 0.2}] * 30)
    crowd = people(60)
    again = [(who, (nps + 5) % 11, [CHOICES[(i + 1) % 3]]) for i, (who, nps, _) in enumerate(crowd)]

    def answer_all() -> None:
        for person in crowd + again:
            web.answer([person])

    client = threading.Thread(target=answer_all, daemon=True)
    client.start()
    wait_for(lambda: len(braze_standin.requests()) >= 5, 60, "deliveries under way")
    cluster.restart()
    client.join(timeout=120)
    assert not client.is_alive()

    # Well within the two-minute lease: a worker whose round failed while the database was
    # away ends its own leases once it is back, instead of leaving them to run out.
    state = settled(lambda: process_state(processes), braze_standin, 60)
    check_promises(web.ledger, braze_standin, state)
    # The restart did cut answers off (the web process answered 500 while it lasted).
    assert web.ledger.refused() >= 1
    assert braze_standin.violations() == []
    # Events of a request answered while the database was away, whose outcome could not be
    # written, are sent again and counted; any duplicate is one of those.
    assert duplicate_events(braze_standin) <= ambiguous_events(state)
    print(
        f"\nacknowledged {web.ledger.acknowledged()}, refused {web.ledger.refused()}, "
        f"duplicate events {duplicate_events(braze_standin)}, counted {ambiguous_events(state)}"
    )
