"""Webhooks as a delivery destination.

Every endpoint is a lane of its own in the delivery core (`webhook:<id>`): its pushes, pacing,
outage and pause are its own, so one receiver that is down or gone holds back no other. A push
is owed the response's messages this endpoint wants, in the order they happened; each request
carries one message, the oldest not yet taken, so a receiver sees one response's events in order.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.utils import timezone

from sounding.answers.models import Response
from sounding.delivery import outbox
from sounding.delivery.models import Lane, Push, PushState
from sounding.delivery.protocol import Answer, Connection, Item, Parcel, RequestLimit, Verdict
from sounding.destinations.webhooks import egress, events, signing, subscriptions
from sounding.destinations.webhooks.models import Endpoint, Message
from sounding.outbound import OutboundError
from sounding.surveys.models import Survey

KIND = subscriptions.KIND
PREFIX = "webhook:"
ONE = RequestLimit(total=1)
# Messages one claim sends, one request each, in turn: at most one per response, so one
# response's messages still go one at a time, in order.
PER_CLAIM = 20
TIMEOUT = 15.0
# What a receiver's failure reply shows in the delivery log.
SNIPPET = 300
GONE = (
    "The endpoint answered 410 Gone, so Sounding turned it off. Turn it on again in "
    "Settings → Webhooks once it is back."
)
# Messages are kept this long: past the retry schedule, with days to spare for "Resend".
KEEP = timedelta(days=14)


def endpoint_id(kind: str) -> int:
    return int(kind.removeprefix(PREFIX))


def retry_delay(failures: int) -> float:
    """The Standard Webhooks schedule: the wait before try `failures + 1` of a failing endpoint,
    with jitter so endpoints that failed together do not come back together."""
    schedule = settings.WEBHOOK_RETRY_SECONDS
    step = schedule[min(max(failures, 1), len(schedule)) - 1]
    return float(step) * random.uniform(0.8, 1.0)


@dataclass(frozen=True)
class Target:
    url: str
    secrets: tuple[str, ...]


class Webhooks:
    """The family: owed at answer time; its lanes are the enabled endpoints."""

    kind = KIND
    label = "Webhooks"
    max_objects = 1

    def owe(self, response: Response, survey: Survey, version: int, change: Any) -> int:
        if change is None:
            return 0
        endpoints = [
            e
            for e in Endpoint.objects.filter(workspace_id=survey.workspace_id, enabled=True)
            if e.covers(survey.pk)
        ]
        wanted = {kind for e in endpoints for kind in e.events}
        messages = events.for_change(
            response, survey, change.at, change.answers, change.changed, change.completed, wanted
        )
        return self.queue(response, survey, version, endpoints, messages)

    def queue(
        self,
        response: Response,
        survey: Survey,
        version: int,
        endpoints: Sequence[Endpoint],
        messages: Sequence[Message],
    ) -> int:
        if not messages:
            return 0
        Message.objects.bulk_create(messages)
        types = {m.type for m in messages}
        marked = 0
        for endpoint in endpoints:
            if types & set(endpoint.events):
                # Anonymous responses are sent too: the key only keeps one response's
                # messages from going out in two requests at once.
                key = f"response:{response.pk}"
                outbox.upsert(response.pk, survey.workspace_id, endpoint.kind, key, version)
                marked += 1
        return marked

    def erasing(self, responses: Sequence[Response]) -> set[int]:
        """Queue `response.erased` for the endpoints that want it; the responses returned
        must stay (emptied) until it is sent, since their push needs them."""
        staying: set[int] = set()
        if not responses:
            return staying
        workspace_id = responses[0].survey.workspace_id
        wanting = [
            e
            for e in Endpoint.objects.filter(workspace_id=workspace_id, enabled=True)
            if events.ERASED in e.events
        ]
        now = timezone.now()
        for response in responses:
            covering = [e for e in wanting if e.covers(response.survey_id)]
            if not covering:
                continue
            message = events.for_erasure(response, response.survey, now)
            version = response.answers_version + 1
            self.queue(response, response.survey, version, covering, [message])
            staying.add(response.pk)
        return staying

    def prune(self, older_than: timedelta = KEEP) -> int:
        """Forget messages past the retry window and the time to resend them by hand."""
        cutoff = timezone.now() - older_than
        deleted, _ = Message.objects.filter(created_at__lt=cutoff).delete()
        return deleted

    def lanes(self) -> list[str]:
        """Endpoints with something due now: one indexed look for all of them."""
        kinds = [e.kind for e in Endpoint.objects.filter(enabled=True).only("pk")]
        if not kinds:
            return []
        due = Push.objects.filter(
            destination__in=kinds, state=PushState.PENDING, next_attempt_at__lte=timezone.now()
        )
        return sorted(set(due.values_list("destination", flat=True)))

    def lane(self, kind: str) -> EndpointLane:
        return EndpointLane(kind)


class EndpointLane:
    max_objects = PER_CLAIM
    # Each message is a request of its own: waiting for others to share it gains nothing.
    linger = timedelta(0)

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.id = endpoint_id(kind)

    @property
    def label(self) -> str:
        url = Endpoint.objects.filter(pk=self.id).values_list("url", flat=True).first()
        return f"the webhook endpoint {url}" if url else "a webhook endpoint"

    def connection(self, workspace_id: int) -> Connection | str:
        endpoint = Endpoint.objects.filter(pk=self.id, workspace_id=workspace_id).first()
        if endpoint is None or not endpoint.enabled:
            return "This webhook endpoint is turned off."
        return Connection(
            workspace_id=workspace_id,
            credentials=Target(endpoint.url, tuple(endpoint.signing_secrets())),
            limit=ONE,
            requests_per_claim=PER_CLAIM,
            probe_delay=retry_delay,
        )

    def parcels(self, items: Sequence[Item]) -> list[Parcel]:
        endpoint = Endpoint.objects.filter(pk=self.id).first()
        if endpoint is None:
            return [Parcel(item.push_id, item.version, withdrawn=True) for item in items]
        # Every item's messages in one query, oldest first.
        messages: dict[int, list[tuple[str, str]]] = defaultdict(list)
        rows = (
            Message.objects.filter(
                response_id__in=[item.response.pk for item in items],
                type__in=endpoint.events,
                created_at__gte=endpoint.created_at,
            )
            .order_by("id")
            .values_list("response_id", "msg_id", "body")
        )
        for response_id, msg_id, body in rows:
            messages[response_id].append((msg_id, body))
        return [self._parcel(item, endpoint, messages[item.response.pk]) for item in items]

    def _parcel(self, item: Item, endpoint: Endpoint, messages: list[tuple[str, str]]) -> Parcel:
        if not endpoint.covers(item.survey.pk):
            return Parcel(item.push_id, item.version, withdrawn=True)
        taken = (item.acknowledged or {}).get("events", {})
        owed = [(msg_id, body) for msg_id, body in messages if msg_id not in taken]
        if not owed:
            return Parcel(item.push_id, item.version)
        msg_id, body = owed[0]
        return Parcel(
            item.push_id,
            item.version,
            objects=[("messages", {"id": msg_id, "body": body})],
            events={msg_id: 0},
            # The next message goes in the next request, right after this one is taken.
            deferred=len(owed) > 1,
        )

    def send(self, connection: Connection, objects: Sequence[tuple[str, dict[str, Any]]]) -> Answer:
        return self._judge(connection.workspace_id, self._post(connection, objects))

    def send_each(
        self, connection: Connection, requests: Sequence[Sequence[tuple[str, dict[str, Any]]]]
    ) -> list[Answer]:
        """Send a claim's messages at once, one request each: they are about different
        responses, so no response's messages overtake each other. Only the requests run on
        threads; what the answers mean for the endpoint is decided here, in order."""
        if len(requests) == 1:
            return [self.send(connection, requests[0])]
        answers = list(_senders().map(lambda objects: self._post(connection, objects), requests))
        return [self._judge(connection.workspace_id, answer) for answer in answers]

    def _post(
        self, connection: Connection, objects: Sequence[tuple[str, dict[str, Any]]]
    ) -> Answer:
        """One message over HTTP and what its answer says; no database, so it may run on any
        thread. `Answer.reason` GONE marks a 410 for `_judge`."""
        target: Target = connection.credentials
        ((_, message),) = objects
        body = message["body"].encode()
        headers = signing.headers(target.secrets, message["id"], int(time.time()), body)
        try:
            reply = egress.post(target.url, body, headers, timeout=TIMEOUT)
        except egress.RefusedEndpoint as exc:
            # Checked again at every send: the name may resolve elsewhere now. A failure like
            # any other (DNS can be briefly wrong); the schedule's end turns the endpoint off.
            return Answer(Verdict.RETRY, reason=f"Not sent: {exc}", maybe_applied=False)
        except OutboundError as exc:
            return Answer(
                Verdict.RETRY,
                reason=f"The endpoint gave no answer: {exc}",
                maybe_applied=exc.maybe_applied,
                may_still_apply=exc.timed_out,
            )
        if 200 <= reply.status < 300:
            return Answer(Verdict.OK, status=reply.status)
        if reply.status == 410:
            return Answer(Verdict.REFUSED, reason=GONE, status=410)
        snippet = str(reply.body)[:SNIPPET]
        if reply.status == 429:
            return Answer(
                Verdict.RATE_LIMITED,
                reason=f"The endpoint answered 429: {snippet}",
                status=429,
                retry_after=_seconds(reply.headers.get("retry-after")),
            )
        why = f"The endpoint answered {reply.status}"
        if 300 <= reply.status < 400:
            why += " (redirects are not followed: use the final address)"
        return Answer(
            Verdict.RETRY,
            reason=f"{why}: {snippet}" if snippet else why,
            status=reply.status,
            maybe_applied=reply.status >= 500,
        )

    def _judge(self, workspace_id: int, answer: Answer) -> Answer:
        if answer.verdict is Verdict.REFUSED and answer.reason == GONE:
            return self._turn_off(workspace_id, GONE, answer.status)
        if answer.verdict is Verdict.RETRY:
            return self._failed(workspace_id, answer)
        return answer

    def _failed(self, workspace_id: int, answer: Answer) -> Answer:
        """A failure like the ones before it; after the whole schedule, the endpoint is off."""
        failures = (
            Lane.objects.filter(workspace_id=workspace_id, destination=self.kind)
            .values_list("failures", flat=True)
            .first()
        ) or 0
        # This is try `failures + 1`; the schedule has one wait after each try but the last.
        if failures < len(settings.WEBHOOK_RETRY_SECONDS):
            return answer
        return self._turn_off(
            workspace_id,
            f"Every try failed for {len(settings.WEBHOOK_RETRY_SECONDS) + 1} tries in a row, so "
            f"Sounding turned the endpoint off. The last one: {answer.reason}",
            answer.status,
        )

    def _turn_off(self, workspace_id: int, reason: str, status: int | None) -> Answer:
        Endpoint.objects.filter(pk=self.id).update(
            enabled=False, disabled_reason=reason, updated_at=timezone.now()
        )
        subscriptions.sync(workspace_id)
        # REFUSED pauses the lane and tells the workspace's owners, once.
        return Answer(Verdict.REFUSED, reason=reason, status=status)


@cache
def _senders() -> ThreadPoolExecutor:
    # Threads that live as long as the worker: each keeps its own connections (egress pools
    # them per thread), so a busy endpoint is not a new TLS handshake per message.
    return ThreadPoolExecutor(max_workers=PER_CLAIM, thread_name_prefix="webhooks")


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
