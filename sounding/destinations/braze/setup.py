"""Saving a Braze setup: the workspace's connection and each survey's integration.

The pages (forms.py, views.py) and the API (api.py) both call these, so a page and an API call
can never disagree on what a valid setup is or what saving it does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer
from sounding.delivery import backfill, record
from sounding.delivery.models import Lane, Push
from sounding.destinations.braze import mapping, signing
from sounding.destinations.braze.destination import KIND
from sounding.destinations.braze.models import BrazeSettings, RenameMode, SurveyBraze
from sounding.surveys.models import Survey
from sounding.surveys.spec import SurveySpec


def stored_settings(workspace_id: int) -> BrazeSettings | None:
    return BrazeSettings.objects.filter(workspace_id=workspace_id).first()


def lane_of(workspace_id: int) -> Lane | None:
    """Where delivery keeps the workspace's pause, last success and last error."""
    return Lane.objects.filter(workspace_id=workspace_id, destination=KIND).first()


def save_connection(
    workspace: Workspace,
    user: User | None,
    rest_endpoint: str,
    api_key: str,
    requests_per_second: int | None,
    batch_limit: str,
) -> BrazeSettings:
    """Store the workspace's connection (an empty `api_key` keeps the stored one), then lift a
    pause: whatever waited for better settings is tried again at once."""
    with transaction.atomic():
        # The workspace row serializes two first saves, which would both try to create.
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        found = BrazeSettings.objects.filter(workspace=workspace).first()
        found = found or BrazeSettings(workspace=workspace)
        found.rest_endpoint = rest_endpoint
        if api_key:
            found.set_api_key(api_key)
        found.requests_per_second = requests_per_second
        found.batch_limit = batch_limit
        found.updated_at = timezone.now()
        found.updated_by = user
        found.save()
    record.resume(workspace.pk, KIND)
    return found


def site_base(request: HttpRequest) -> str:
    """Where survey links start: the configured address, else the one the request came to."""
    return settings.SITE_URL or request.build_absolute_uri("/").rstrip("/")


def survey_config(survey: Survey) -> SurveyBraze:
    """The survey's integration, or the defaults of one never set up (not saved)."""
    found = SurveyBraze.objects.filter(survey=survey).first()
    return found or SurveyBraze(survey=survey)


def current_names(spec: SurveySpec, overrides: Mapping[str, Any]) -> dict[str, str | None]:
    """The stored names of questions that still exist: a deleted question's name is moot."""
    return {key: name for key, name in overrides.items() if spec.get(key) is not None}


def blocking_problems(
    spec: SurveySpec,
    overrides: Mapping[str, str | None],
    enabled: bool,
    given: Iterable[str],
    pinned: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Name problems that stop a save.

    While the integration is on, every name must be one Braze files faithfully. While it is
    off, only the names typed in this change are checked, so turning it off never fails
    because of a prompt edited since.
    """
    problems = mapping.name_problems(spec, overrides, pinned)
    if enabled:
        return problems
    typed = set(given)
    return {key: message for key, message in problems.items() if key in typed}


def renames_in(
    spec: SurveySpec, config: SurveyBraze, overrides: Mapping[str, str | None]
) -> dict[str, tuple[str, str]]:
    """Question key -> (name Braze holds, new name), for each question these names rename.

    A question with a kept name keeps it unless another one is given for it: a name left
    empty, or a question left out of the sync, renames nothing."""
    found = {}
    for key, held in config.pinned_names.items():
        new = overrides.get(key)
        if spec.get(key) is not None and isinstance(new, str) and new and new != held:
            found[key] = (held, new)
    return found


def pinned_after(config: SurveyBraze, renamed: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    return {**config.pinned_names, **{key: new for key, (_, new) in renamed.items()}}


def holders(survey: Survey, name: str) -> int:
    """Responses whose profile Braze acknowledged an attribute `name` for."""
    return Push.objects.filter(
        response__survey=survey, destination=KIND, acknowledged__attributes__has_key=name
    ).count()


# Fields the pages and the API set; the kept names change only through `rename_attributes`
# and the worker, each with the row locked, so a save made from an older read cannot undo them.
SAVED_FIELDS = tuple(
    f.name
    for f in SurveyBraze._meta.concrete_fields
    if f.name not in ("id", "pinned_names", "retired_names")
)


def save_survey_config(
    survey: Survey,
    config: SurveyBraze,
    renamed: Mapping[str, tuple[str, str]] | None = None,
    mode: str = RenameMode.MOVE,
) -> int:
    """Save the integration and the survey's list of destinations in one transaction: the
    respondent path reads that list to know whether an answer is owed to Braze.

    With `renamed` (see `renames_in`), those questions' kept names change as `mode` says (see
    `rename_attributes`). Returns how many responses that makes due again."""
    with transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        config.survey = locked
        stored = SurveyBraze.objects.filter(survey=locked).values("pk", *signing.STATE_FIELDS)
        before = stored.first()
        if config.pk is None and before is not None:
            # Someone else's first save may have won the lock: update theirs, not a twin.
            config.pk = before["pk"]
        config.updated_at = timezone.now()
        if before is None:
            config.save()
        else:
            config.save(update_fields=SAVED_FIELDS)
        due = 0
        if renamed:
            due = rename_attributes(locked, renamed, mode)
            config.refresh_from_db(fields=["pinned_names", "retired_names"])
        kinds = [kind for kind in locked.destinations or () if kind != KIND]
        if config.enabled:
            kinds.append(KIND)
        if kinds != locked.destinations:
            locked.destinations = kinds
            locked.save(update_fields=["destinations"])
        if _signing_changed(before, config):
            # The respondent path caches the signing keys per survey version, in every process.
            Survey.objects.filter(pk=locked.pk).update(version=F("version") + 1)
            survey.version = locked.version + 1
    survey.destinations = kinds
    return due


def rename_attributes(survey: Survey, renamed: Mapping[str, tuple[str, str]], mode: str) -> int:
    """Use the new names from now on for questions whose answers Braze holds under the old.

    `move` removes (null) the old attribute from the profiles that have it and sends the
    answers under the new name; `copy` sends them under the new name and leaves the old one;
    `keep` sends nothing now: answers go under the new name as they are next sent. Returns
    how many responses are due again."""
    with transaction.atomic():
        config = SurveyBraze.objects.select_for_update().get(survey=survey)
        pinned = pinned_after(config, renamed)
        # A question's "Other" text moves with its name (mapping.other_name).
        in_use = {*pinned.values(), *(mapping.other_name(name) for name in pinned.values())}
        retired = [name for name in config.retired_names if name not in in_use]
        if mode == RenameMode.MOVE:
            olds = [n for old, _ in renamed.values() for n in (old, mapping.other_name(old))]
            retired += [old for old in olds if old not in in_use | set(retired)]
        config.pinned_names, config.retired_names = pinned, retired
        config.save(update_fields=["pinned_names", "retired_names"])
        if mode == RenameMode.KEEP:
            return 0
        answered = Answer.objects.filter(response__survey=survey, question_key__in=list(renamed))
        return backfill.owe_again(answered.values("response_id"))


def _signing_changed(before: dict[str, Any] | None, config: SurveyBraze) -> bool:
    if before is None:
        return config.signed_links
    return tuple(before[name] for name in signing.STATE_FIELDS) != signing.state(config)
