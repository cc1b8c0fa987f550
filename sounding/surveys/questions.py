"""Question types: what each accepts in a definition and how it turns input into a typed answer.

Answers are stored as JSON in their natural type: scores and numbers as numbers, yes/no as a
boolean, choices as strings (a list for multiple choice), dates as `YYYY-MM-DD` strings.
Every rejection carries a message a respondent can act on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, TypeGuard

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

if TYPE_CHECKING:
    # Only in signatures: the spec reads its question types from this registry, so this
    # module must not need the spec to load.
    from sounding.surveys.spec import Question

SHORT_TEXT_MAX = 255
LONG_TEXT_MAX = 5000
OTHER = "__other__"


class AnswerError(ValueError):
    """An answer a respondent gave that cannot be stored; the message is shown to them."""


class Empty:
    """No answer given (a skipped optional question, or a cleared one)."""

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY = Empty()

Problems = list[tuple[str, str]]  # (JSON path, message)


class QuestionType:
    name: ClassVar[str]
    # Definition fields this type accepts beyond the common ones.
    fields: ClassVar[frozenset[str]] = frozenset()
    template: ClassVar[str]

    def defaults(self) -> dict[str, Any]:
        return {}

    def check(self, q: dict[str, Any], path: str, problems: Problems) -> None:
        """Add a (path, message) for every problem in this question's type-specific fields."""

    def parse(self, q: Question, values: Sequence[str], other: str = "") -> Any:
        """Turn submitted form values into a typed answer, EMPTY, or raise AnswerError."""
        raise NotImplementedError

    def form_values(self, q: Question, value: Any) -> list[str]:
        """The form values that would submit `value` again (to show a stored answer)."""
        if value is None or value is EMPTY:
            return []
        if isinstance(value, bool):
            return ["yes" if value else "no"]
        if isinstance(value, list):
            return [str(v) for v in value]
        return [str(value)]


_WHOLE = re.compile(r"-?[0-9]{1,6}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_THOUSANDS = re.compile(r"-?[0-9]{1,3}(,[0-9]{3})+")


def _first(values: Sequence[str]) -> str:
    return values[0].strip() if values else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> TypeGuard[float]:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _check_label(q: dict[str, Any], name: str, path: str, problems: Problems) -> None:
    if name in q and not isinstance(q[name], str):
        problems.append((f"{path}.{name}", "must be a string"))
    elif name in q and len(q[name]) > 200:
        problems.append((f"{path}.{name}", "must be at most 200 characters"))


class ScoreType(QuestionType):
    """A row of whole numbers to pick one from."""

    template = "scale"
    fixed_range: ClassVar[tuple[int, int] | None] = None
    default_labels: ClassVar[tuple[str, str]] = ("", "")

    def defaults(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.fixed_range:
            out["min"], out["max"] = self.fixed_range
        out["min_label"], out["max_label"] = self.default_labels
        return out

    def parse(self, q: Question, values: Sequence[str], other: str = "") -> Any:
        raw = _first(values)
        if not raw:
            return EMPTY
        lo, hi = int(q.min or 0), int(q.max or 0)
        # Plain ASCII digits only: int() would also take "1_0" and other scripts' digits.
        number = int(raw) if _WHOLE.fullmatch(raw) else None
        if number is None or not lo <= number <= hi:
            raise AnswerError(_("Pick a number from %(min)s to %(max)s.") % {"min": lo, "max": hi})
        return number


class NpsType(ScoreType):
    name = "nps"
    fields = frozenset({"min_label", "max_label"})
    fixed_range = (0, 10)
    default_labels = (gettext_noop("Not at all likely"), gettext_noop("Extremely likely"))

    def check(self, q: dict[str, Any], path: str, problems: Problems) -> None:
        for name in ("min_label", "max_label"):
            _check_label(q, name, path, problems)


class RatingType(NpsType):
    name = "rating"
    fixed_range = (1, 5)
    default_labels = ("", "")


CSAT_LABELS = (
    gettext_noop("Very unsatisfied"),
    gettext_noop("Unsatisfied"),
    gettext_noop("Neutral"),
    gettext_noop("Satisfied"),
    gettext_noop("Very satisfied"),
)
OTHER_LABEL = gettext_noop("Other")
# Labels a definition gets when its author gives none. They are stored in English; a survey
# read in another language shows them in that language where Sounding ships one.
DEFAULT_LABELS = frozenset({*NpsType.default_labels, *CSAT_LABELS, OTHER_LABEL})


def localized_default(text: str, language: str) -> str:
    """`text` in `language` if it is a default label left as it was; otherwise `text`."""
    if text not in DEFAULT_LABELS or language.split("-")[0].lower() == "en":
        return text
    with translation.override(language):
        return translation.gettext(text)


class CsatType(ScoreType):
    name = "csat"
    fields = frozenset({"labels"})
    fixed_range = (1, 5)
    template = "options"

    def defaults(self) -> dict[str, Any]:
        return {**super().defaults(), "labels": list(CSAT_LABELS)}

    def check(self, q: dict[str, Any], path: str, problems: Problems) -> None:
        if "labels" not in q:
            return
        labels = q["labels"]
        if (
            not isinstance(labels, list)
            or len(labels) != 5
            or not all(isinstance(x, str) and 0 < len(x) <= 100 for x in labels)
        ):
            problems.append((f"{path}.labels", "must be a list of 5 non-empty strings"))


class ScaleType(ScoreType):
    name = "scale"
    fields = frozenset({"min", "max", "min_label", "max_label"})

    def defaults(self) -> dict[str, Any]:
        return {"min": 1, "max": 5, "min_label": "", "max_label": ""}

    def check(self, q: dict[str, Any], path: str, problems: Problems) -> None:
        lo, hi = q.get("min", 1), q.get("max", 5)
        for name, value in (("min", lo), ("max", hi)):
            if not _is_int(value):
                problems.append((f"{path}.{name}", "must be a whole number"))
        if _is_int(lo) and _is_int(hi) and not 1 <= hi - lo <= 20:
            problems.append((f"{path}.max", "must be 1 to 20 more than min"))
        for name in ("min_label", "max_label"):
            _check_label(q, name, path, problems)


class ChoiceType(QuestionType):
    fields = frozenset({"choices", "allow_other", "other_label"})
    template = "options"
    multiple: ClassVar[bool] = False

    def check(self, q: dict[str, Any], path: str, problems: Problems) -> None:
        choices = q.get("choices")
        if not isinstance(choices, list) or not choices:
            problems.append((f"{path}.choices", "must be a non-empty list of strings"))
            return
        if len(choices) > 100:
            problems.append((f"{path}.choices", "must have at most 100 choices"))
        seen: set[str] = set()
        for i, choice in enumerate(choices):
            where = f"{path}.choices[{i}]"
            if not isinstance(choice, str) or not choice.strip():
                problems.append((where, "must be a non-empty string"))
            elif len(choice) > SHORT_TEXT_MAX:
                problems.append((where, f"must be at most {SHORT_TEXT_MAX} characters"))
            elif choice.strip() in seen:
                problems.append((where, f"repeats the choice {choice.strip()!r}"))
            elif choice.strip() == OTHER:
                problems.append((where, f"{OTHER!r} is reserved"))
            else:
                seen.add(choice.strip())
        if "allow_other" in q and not isinstance(q["allow_other"], bool):
            problems.append((f"{path}.allow_other", "must be true or false"))
        _check_label(q, "other_label", path, problems)

    def _other(self, q: Question, other: str) -> str:
        text = other.strip()
        if not text:
            raise AnswerError(_("Please say what “%(label)s” is.") % {"label": q.other_label})
        if len(text) > SHORT_TEXT_MAX:
            raise AnswerError(_too_long(SHORT_TEXT_MAX))
        _check_storable(text)
        return text

    def _pick(self, q: Question, raw: str, other: str) -> str:
        if raw == OTHER and q.allow_other:
            return self._other(q, other)
        if raw not in q.choices:
            raise AnswerError(_("Pick one of the choices offered."))
        return raw

    def parse(self, q: Question, values: Sequence[str], other: str = "") -> Any:
        raw = _first(values)
        if not raw:
            return EMPTY
        return self._pick(q, raw, other)

    def form_values(self, q: Question, value: Any) -> list[str]:
        values = value if isinstance(value, list) else [value]
        return [v if v in q.choices else OTHER for v in values if isinstance(v, str)]


class SingleChoiceType(ChoiceType):
    name = "single_choice"


class DropdownType(ChoiceType):
    name = "dropdown"
    template = "dropdown"


class MultipleChoiceType(ChoiceType):
    name = "multiple_choice"
    multiple = True

    def parse(self, q: Question, values: Sequence[str], other: str = "") -> Any:
        picked = {v.strip() for v in values if v.strip()}
        if not picked:
            return EMPTY
        unknown = picked - set(q.choices) - ({OTHER} if q.allow_other else set())
        if unknown:
            raise AnswerError(_("Pick only among the choices offered."))
        text = self._other(q, other) if OTHER in picked else None
        # Stored in the order the choices are offered, so equal answers compare equal.
        out = [c for c in q.choices if c in picked or c == text]
        if text is not None and text not in out:
            out.append(text)
        return out


class YesNoType(QuestionType):
    name = "yes_no"
    template = "options"
    TRUE = frozenset({"yes", "true", "1", "y"})
    FALSE = frozenset({"no", "false", "0", "n"})

    def parse(self, q: Question, values: Sequence[str], other: str = "") -> Any:
        raw = _first(values).lower()
        if not raw:
            return EMPTY
        if raw in self.TRUE:
            return True
        if raw in self.FALSE:
            return False
        raise AnswerError(_("Answer yes or no."))


def _too_long(limit: int) -> str:
    # Grouping follows the reader's language: "5,000" reads as five in French or German.
    return _("Keep it to %(limit)s characters or fewer.") % {
        "limit": number_format(limit, force_grouping=True)
    }


def _check_storable(text: str) -> None:
    # PostgreSQL cannot store NUL in text or JSON; a browser never sends one on its own.
    if "\x00" in text:
        raise AnswerError(_("The text contains characters that cannot be stored."))


class TextType(QuestionType):
    fields = frozenset({"placeholder"})
    limit: ClassVar[int]

    def check(self, q: dict[str, Any], path: str, problems: Problems) -> None:
        _check_label(q, "placeholder", path, problems)

    def parse(self, q: Question, values: Sequence[str], other: str = "") -> Any:
        text = _first(values)
        if not text:
            return EMPTY
        if len(text) > self.limit:
            raise AnswerError(_too_long(self.limit))
        _check_storable(text)
        return text


class ShortTextType(TextType):
    name = "short_text"
    template = "input"
    limit = SHORT_TEXT_MAX


class LongTextType(TextType):
    name = "long_text"
    template = "textarea"
    limit = LONG_TEXT_MAX


class EmailType(TextType):
    name = "email"
    template = "input"
    limit = 254

    def parse(self, q: Question, values: Sequence[str], other: str = "") -> Any:
        text = super().parse(q, values, other)
        if text is EMPTY:
            return EMPTY
        try:
            validate_email(text)
        except DjangoValidationError:
            raise AnswerError(_("Enter an email address like name@example.com.")) from None
        return text


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class NumberType(QuestionType):
    name = "number"
    fields = frozenset({"min", "max", "placeholder"})
    template = "input"

    def check(self, q: dict[str, Any], path: str, problems: Problems) -> None:
        for name in ("min", "max"):
            if name in q and q[name] is not None and not _is_number(q[name]):
                problems.append((f"{path}.{name}", "must be a number"))
        lo, hi = q.get("min"), q.get("max")
        if _is_number(lo) and _is_number(hi) and lo > hi:
            problems.append((f"{path}.max", "must not be less than min"))
        _check_label(q, "placeholder", path, problems)

    def parse(self, q: Question, values: Sequence[str], other: str = "") -> Any:
        raw = _first(values).replace(" ", "")
        if _THOUSANDS.fullmatch(raw):
            # "1,000" is a thousand to some and one to others: ask rather than guess.
            raise AnswerError(_("Enter the number without thousands separators."))
        if raw.count(",") == 1 and "." not in raw:
            raw = raw.replace(",", ".")  # a decimal comma, as typed in most of Europe
        if not raw:
            return EMPTY
        if not _NUMBER.match(raw):
            raise AnswerError(_("Enter a number."))
        value = float(raw)
        if not math.isfinite(value):
            raise AnswerError(_("Enter a number."))
        if (q.min is not None and value < q.min) or (q.max is not None and value > q.max):
            raise AnswerError(_range_message(q))
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value


def _range_message(q: Question) -> str:
    def fmt(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    if q.min is not None and q.max is not None:
        return _("Enter a number from %(min)s to %(max)s.") % {"min": fmt(q.min), "max": fmt(q.max)}
    if q.min is not None:
        return _("Enter a number of at least %(min)s.") % {"min": fmt(q.min)}
    return _("Enter a number of at most %(max)s.") % {"max": fmt(q.max or 0)}


class DateType(QuestionType):
    name = "date"
    template = "input"

    def parse(self, q: Question, values: Sequence[str], other: str = "") -> Any:
        raw = _first(values)
        if not raw:
            return EMPTY
        try:
            if not _DATE.fullmatch(raw):
                raise ValueError
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise AnswerError(_("Enter a date as YYYY-MM-DD, for example 2026-11-24.")) from None


QUESTION_TYPES: dict[str, QuestionType] = {
    t.name: t
    for t in (
        NpsType(),
        RatingType(),
        CsatType(),
        ScaleType(),
        SingleChoiceType(),
        MultipleChoiceType(),
        DropdownType(),
        YesNoType(),
        ShortTextType(),
        LongTextType(),
        EmailType(),
        NumberType(),
        DateType(),
    )
}
