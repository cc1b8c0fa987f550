"""The filters of the responses table, which exports honour too: completion, the sync state
with each destination, a search by identity and a range of start dates.

Parsed from query parameters; each fault comes back as (parameter, message) so that a page
shows it next to its field and the API answers 400 with a JSON path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from sounding import destinations
from sounding.answers.models import Response
from sounding.delivery import status

COMPLETION = {"completed": "Completed", "in_progress": "In progress"}
ERASING = "erasing"
SYNC = {
    "pending": "Pending",
    "synced": "Synced",
    "failed": "Failed",
    status.NOT_SENT: "Not sent",
    ERASING: "Erasing…",
}
MAX_SEARCH = 255

Problems = list[tuple[str, str]]


@dataclass(frozen=True)
class Filters:
    completion: str = ""
    # Destination kind -> the state asked for, each from that destination's own parameter.
    sync: Mapping[str, str] = field(default_factory=dict)
    search: str = ""
    since: date | None = None
    until: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.completion or self.sync or self.search or self.since or self.until)

    def params(self) -> dict[str, str]:
        """The query parameters that select the same responses (for export links)."""
        out = {
            "completion": self.completion,
            **{destinations.plugin(kind).filter_param: s for kind, s in self.sync.items()},
            "q": self.search,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in out.items() if v}


def _choice(raw: str, allowed: Mapping[str, str], name: str, problems: Problems) -> str:
    if raw and raw not in allowed:
        problems.append((name, f"must be one of: {', '.join(allowed)}"))
        return ""
    return raw


def _day(raw: str, name: str, problems: Problems) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append((name, "must be a date written YYYY-MM-DD"))
        return None


def parse(params: Mapping[str, str], *, sync: bool = True) -> tuple[Filters, Problems]:
    """Filters from query parameters; `sync=False` for callers that do not offer that one."""
    problems: Problems = []
    search = (params.get("q") or "").strip()
    if len(search) > MAX_SEARCH or "\x00" in search:
        problems.append(("q", f"must be text of at most {MAX_SEARCH} characters"))
        search = ""
    found = Filters(
        completion=_choice(params.get("completion") or "", COMPLETION, "completion", problems),
        sync=_sync(params, problems) if sync else {},
        search=search,
        since=_day(params.get("since") or "", "since", problems),
        until=_day(params.get("until") or "", "until", problems),
    )
    if found.since and found.until and found.since > found.until:
        problems.append(("until", "must not be before the start date"))
    return found, problems


def _sync(params: Mapping[str, str], problems: Problems) -> dict[str, str]:
    out = {}
    for plugin in destinations.tracked():
        name = plugin.filter_param
        chosen = _choice(params.get(name) or "", SYNC, name, problems)
        if chosen:
            out[plugin.kind] = chosen
    return out


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _sync_q(kind: str, state: str) -> Q:
    if state == ERASING:
        return Q(erase_requested_at__isnull=False)
    return status.state_is(kind, state) & Q(erase_requested_at__isnull=True)


def _search_q(text: str) -> Q:
    found = Q()
    for name in destinations.identities():
        found |= Q(**{f"identities__{name}__icontains": text})
    return found


def apply(responses: QuerySet[Response], filters: Filters) -> QuerySet[Response]:
    """Narrow responses read through `status.with_pushes(..., destinations.tracked_kinds())` to the
    filters."""
    if filters.completion == "completed":
        responses = responses.filter(completed_at__isnull=False)
    elif filters.completion == "in_progress":
        responses = responses.filter(completed_at__isnull=True)
    for kind, state in filters.sync.items():
        responses = responses.filter(_sync_q(kind, state))
    if filters.search:
        responses = responses.filter(_search_q(filters.search))
    if filters.since:
        responses = responses.filter(started_at__gte=_start_of(filters.since))
    if filters.until:
        responses = responses.filter(started_at__lt=_start_of(filters.until + timedelta(days=1)))
    return responses
