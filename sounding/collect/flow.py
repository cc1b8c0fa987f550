"""The respondent flow's rules: who is answering, what to ask next, and storing each answer.

Views call these; nothing here knows about HTTP beyond a mapping of link parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from sounding import destinations
from sounding.answers.models import Response, normalize_identity
from sounding.collect import store
from sounding.delivery import outbox
from sounding.delivery.outbox import Change, mark_due
from sounding.surveys.definition import IDENTITY_PREFIX, reserved_keys
from sounding.surveys.models import Survey
from sounding.surveys.questions import EMPTY
from sounding.surveys.spec import Question, SurveySpec

MAX_PARAM_LENGTH = 255


@dataclass
class LinkContext:
    """What a survey link says about its respondent."""

    # By identity name (`destinations.identities()`): "email" -> "ivy@x.test".
    identity: dict[str, str] = field(default_factory=dict)
    hidden: dict[str, str] = field(default_factory=dict)
    prefill: dict[str, str] = field(default_factory=dict)
    # Whether a signed link vouches for the identity (sounding.collect.signatures): only then
    # may the link alone show that person's earlier answers.
    signed: bool = False

    @property
    def primary(self) -> tuple[str, str]:
        for kind in destinations.identities():
            if self.identity.get(kind):
                return kind, self.identity[kind]
        return "", ""


def read_link(params: Mapping[str, str], spec: SurveySpec) -> LinkContext:
    """Who the link says is answering, its pre-answers, and the hidden fields the survey
    declares. Any other parameter is ignored: mail providers and the platforms sending the
    messages add their own (`lid`, `utm_*`), and a respondent must not be able to add columns
    to the survey's exports."""
    ctx = LinkContext()
    for kind, identity in destinations.identities().items():
        value: str | None = normalize_identity(kind, params.get(identity.param) or "")
        if value and len(value) <= MAX_PARAM_LENGTH and "\x00" not in value:
            ctx.identity[kind] = value
    for name in spec.hidden_fields:
        value = params.get(name)
        # NUL cannot be stored in PostgreSQL text; such a value is noise, not data.
        if value is not None and "\x00" not in value:
            ctx.hidden[name] = value[:MAX_PARAM_LENGTH]
    reserved = reserved_keys()
    for name, value in params.items():
        if name in reserved or name.startswith(IDENTITY_PREFIX) or "\x00" in value:
            continue
        if spec.get(name) is not None:
            ctx.prefill[name] = value
    return ctx


def find_response(survey: Survey, ctx: LinkContext) -> Response | None:
    kind, value = ctx.primary
    if not kind:
        return None
    return store.response_by_identity(survey, kind, value)


def start_response(survey: Survey, ctx: LinkContext, language: str = "") -> Response:
    """Create the response for this link, or return the one a concurrent request created."""
    return open_response(survey, ctx, language)[0]


def open_response(survey: Survey, ctx: LinkContext, language: str = "") -> tuple[Response, bool]:
    """Like `start_response`, and whether this call created it: a request that lost the race
    to another browser did not give that response's answers."""
    kind, value = ctx.primary
    fields = {
        "survey": survey,
        "identity_kind": kind or None,
        "identity_value": value or None,
        "identities": {name: value for name, value in ctx.identity.items() if value},
        "hidden": ctx.hidden,
        "language": language,
    }
    if not kind:
        return Response.objects.create(**fields), True
    try:
        with transaction.atomic():
            return Response.objects.create(**fields), True
    except IntegrityError:
        # A double tap or two tabs: the other request created it first; continue that one.
        existing = find_response(survey, ctx)
        if existing is None:
            raise
        return existing, False


class QuestionHidden(ValueError):
    """An answer to a question the other answers hide: it must not be stored."""


def save_answer(
    survey: Survey,
    response: Response,
    question: Question,
    value: Any,
    current: dict[str, Any],
    completes: bool = False,
) -> bool:
    """Store (or clear, for EMPTY) one answer; return whether anything changed.

    One short transaction: the answer, the removal of answers to questions it now hides, the
    response's version and the outbox rows, together (on PostgreSQL, an answer that only sets
    a value, owed to destinations that decide nothing themselves, goes as one statement).
    `current` is the response's answers as read before; it is updated in place. `completes`
    completes the response only if every required question the answers show is answered.
    Raises QuestionHidden for a question the answers hide.
    """
    spec = survey.spec
    future = dict(current)
    future.pop(question.key, None)
    if value is not EMPTY:
        future[question.key] = value
    kept = standing(spec, future)
    if question.key in future and question.key not in kept:
        raise QuestionHidden(question.key)
    # A change of mind can hide later questions: their answers go with it, so no report,
    # export or profile keeps an answer to a question the person no longer sees.
    stale = [key for key in future if key not in kept and spec.get(key) is not None]
    for key in stale:
        del future[key]
    before = current.get(question.key, EMPTY)
    # Compare types too: True == 1 in Python, but not in a destination's profile or JSON.
    same = type(before) is type(value) and before == value
    completes = (
        completes and response.completed_at is None and unanswered_required(spec, kept) is None
    )
    if same and not stale and not completes:
        return False
    now = timezone.now()
    completed = now if completes else None
    everyday = store.saves_at_once() and not same and not stale and value is not EMPTY
    owed = outbox.owed_plainly(response, survey) if everyday else None
    if owed is not None:
        # The everyday answer, in one statement: the same rows as the transaction below.
        store.save_at_once(response.pk, question.key, value, now, completed, owed)
    else:
        _save_apart(survey, response, question, value, future, stale, same, now, completed)
    if completed is not None:
        response.completed_at = completed
    current.clear()
    current.update(future)
    return not same or bool(stale)


def _save_apart(
    survey: Survey,
    response: Response,
    question: Question,
    value: Any,
    future: dict[str, Any],
    stale: list[str],
    same: bool,
    now: datetime,
    completed: datetime | None,
) -> None:
    """`save_answer`'s writes as a transaction of separate statements."""
    # Completing changes what destinations are owed (a completion event) even when the last
    # answer did not change, so it bumps the version too.
    with transaction.atomic():
        if not same:
            if value is EMPTY:
                store.delete_answer(response.pk, question.key)
            else:
                store.upsert_answer(response.pk, question.key, value, now)
        if stale:
            store.delete_answers(response.pk, stale)
        version = store.touch_response(response.pk, now, bump=True, completed=completed)
        # As given: a cleared answer, and answers the new one hides, change to nothing.
        changed = {} if same else {question.key: None if value is EMPTY else value}
        changed.update(dict.fromkeys(stale))
        mark_due(response, survey, version, Change(now, future, changed, completed is not None))


def shown(question: Question, answers: Mapping[str, Any]) -> bool:
    return question.show_if is None or question.show_if.holds(answers)


def standing(spec: SurveySpec, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers the survey's rules let stand: each to a question the answers before it
    show. A condition names an earlier question only, so one pass in order settles it."""
    kept: dict[str, Any] = {}
    for q in spec.questions:
        if q.key in answers and shown(q, kept):
            kept[q.key] = answers[q.key]
    return kept


def is_shown(spec: SurveySpec, question: Question, answers: Mapping[str, Any]) -> bool:
    """Whether the answers show `question` (an answer to it would stand)."""
    return question.show_if is None or question.show_if.holds(standing(spec, answers))


def unanswered_required(
    spec: SurveySpec, answers: Mapping[str, Any], before: int | None = None
) -> Question | None:
    """The first required question the answers show and leave unanswered, among the first
    `before` questions (all when None). `answers` must be standing ones."""
    for q in spec.questions[:before]:
        if q.required and q.key not in answers and shown(q, answers):
            return q
    return None


def ahead(spec: SurveySpec, index: int, answers: Mapping[str, Any]) -> Question | None:
    """The screen after question `index`: the next question the answers show, unless a
    required one they show before it is unanswered (then that one). None: the response is
    complete. `answers` must be standing ones."""
    following = next_after(spec, index, answers)
    limit = None if following is None else spec.position(following.key)
    return unanswered_required(spec, answers, limit) or following


def may_preanswer(spec: SurveySpec, question: Question, answers: Mapping[str, Any]) -> bool:
    """Whether a link's pre-answer to `question` may be stored: the answers show it, and no
    required question before it that they show is unanswered (a link never skips one)."""
    kept = standing(spec, answers)
    return shown(question, kept) and (
        unanswered_required(spec, kept, spec.position(question.key)) is None
    )


def resume_at(spec: SurveySpec, answers: Mapping[str, Any]) -> Question | None:
    """Where a returning respondent continues: just after the last question they answered,
    or at an earlier required question still unanswered."""
    kept = standing(spec, answers)
    last = -1
    for i, q in enumerate(spec.questions):
        if q.key in kept:
            last = i
    return ahead(spec, last, kept)


def next_after(spec: SurveySpec, index: int, answers: Mapping[str, Any]) -> Question | None:
    """The next question the answers so far show, or None when the survey is done."""
    for q in spec.questions[index + 1 :]:
        if shown(q, answers):
            return q
    return None


def previous_before(spec: SurveySpec, index: int, answers: Mapping[str, Any]) -> Question | None:
    for q in reversed(spec.questions[: max(0, index)]):
        if shown(q, answers):
            return q
    return None


def progress(spec: SurveySpec, index: int, answers: Mapping[str, Any]) -> tuple[int, int]:
    """(number, total) of question `index` among the questions the answers show: a question
    a rule hides is not counted, so "1 of 6" is followed by "2 of 5", never "3 of 6". The
    question on screen counts even when hidden (an author's preview may open any)."""
    kept = standing(spec, answers)
    counted = [i for i, q in enumerate(spec.questions) if i == index or shown(q, kept)]
    return sum(1 for i in counted if i <= index), len(counted)


def may_follow(spec: SurveySpec, index: int, answers: Mapping[str, Any]) -> bool:
    """Whether any question could come after question `index`, whatever it is answered:
    a later one shown already, or one whose condition depends on this very answer."""
    key = spec.questions[index].key
    return any(
        shown(q, answers) or (q.show_if is not None and q.show_if.question == key)
        for q in spec.questions[index + 1 :]
    )


def with_answer(answers: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    """The standing answers once `key` holds `value` (EMPTY to clear); not yet pruned."""
    future = {k: v for k, v in answers.items() if k != key}
    if value is not EMPTY:
        future[key] = value
    return future


def after_answer(
    spec: SurveySpec, index: int, answers: Mapping[str, Any], value: Any
) -> Question | None:
    """The question that follows once question `index` holds `value` (EMPTY to clear)."""
    key = spec.questions[index].key
    return next_after(spec, index, standing(spec, with_answer(answers, key, value)))
