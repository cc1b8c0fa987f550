"""The survey definition format: JSON in, a validated `SurveySpec` out, and back again.

The format is documented in docs/survey-definition.md with a JSON Schema beside it.
Validation collects every problem with its JSON path instead of stopping at the first, so an
author (or an API client) can fix a definition in one round.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sounding import destinations
from sounding.surveys import conditions, translations
from sounding.surveys.questions import OTHER_LABEL, QUESTION_TYPES, Problems
from sounding.surveys.spec import Question, SurveySpec

MAX_QUESTIONS = 200
MAX_PROMPT = 1000
MAX_HELP = 2000
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Query parameters the respondent pages read for themselves (see `reserved_keys`). `q` names
# the screen to show: a question keyed "q" read `?q=_done`, the thank-you page every answer's
# redirect ends on, as an answer of its own.
PAGE_PARAMETERS = frozenset({"lang", "sig", "r", "preview", "q", "restart", "embed"})
# Hidden fields: the link parameters a survey keeps with each response (see docs/survey-links.md).
MAX_HIDDEN_FIELDS = 20
HIDDEN_FIELD_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
# A hidden field may not take a reserved key either, nor any `user_` parameter (identity
# parameters, never read as an answer).
IDENTITY_PREFIX = "user_"
SURVEY_FIELDS = frozenset(
    {"title", "intro", "thank_you", "language", "hidden_fields", "questions", "translations"}
)
COMMON_FIELDS = frozenset({"key", "type", "prompt", "help", "required", "show_if"})


def reserved_keys() -> frozenset[str]:
    """Query parameters that mean something else in a survey link, so no question key (nor
    hidden field) may take them: the pages' own, and those naming the respondent
    (`user_external_id`). The latter belong to the destinations that address people, read from
    the registry when asked: it loads their models, so not while this module is imported."""
    return PAGE_PARAMETERS | {i.param for i in destinations.identities().values()}


class DefinitionError(ValueError):
    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))
        self.problems = problems

    def as_list(self) -> list[dict[str, str]]:
        return [{"path": p, "message": m} for p, m in self.problems]


def key_from_prompt(prompt: str, taken: set[str]) -> str:
    """A readable, stable key for a question that was given none."""
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    base = "_".join(words)[:40].strip("_") or "question"
    if not base[0].isalpha():
        base = "q_" + base
    base = base[:40].rstrip("_")
    if base in reserved_keys():
        base += "_answer"
    key, n = base, 2
    while key in taken:
        key = f"{base}_{n}"
        n += 1
    return key


def _check_text(
    data: dict[str, Any], name: str, path: str, limit: int, problems: Problems, required: bool
) -> None:
    value = data.get(name)
    if value is None:
        if required:
            problems.append((f"{path}.{name}", "is required"))
        return
    if not isinstance(value, str):
        problems.append((f"{path}.{name}", "must be a string"))
    elif required and not value.strip():
        problems.append((f"{path}.{name}", "must not be empty"))
    elif len(value) > limit:
        problems.append((f"{path}.{name}", f"must be at most {limit} characters"))


def _check_storable(value: Any, path: str, problems: Problems) -> None:
    """Refuse text no database can keep: NUL (PostgreSQL) and lone surrogates (any UTF-8)."""
    if isinstance(value, str):
        if "\x00" in value:
            problems.append((path, "must not contain the NUL character"))
        elif not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                problems.append((path, "must be valid Unicode text"))
    elif isinstance(value, dict):
        for name, item in value.items():
            _check_storable(item, f"{path}.{name}", problems)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_storable(item, f"{path}[{i}]", problems)


def _check_question(raw: Any, path: str, problems: Problems) -> bool:
    if not isinstance(raw, dict):
        problems.append((path, "must be an object"))
        return False
    type_name = raw.get("type")
    kind = QUESTION_TYPES.get(type_name) if isinstance(type_name, str) else None
    if kind is None:
        names = ", ".join(QUESTION_TYPES)
        problems.append((f"{path}.type", f"must be one of: {names}"))
    _check_text(raw, "prompt", path, MAX_PROMPT, problems, required=True)
    _check_text(raw, "help", path, MAX_HELP, problems, required=False)
    if "required" in raw and not isinstance(raw["required"], bool):
        problems.append((f"{path}.required", "must be true or false"))
    key = raw.get("key")
    if key is not None and (not isinstance(key, str) or not KEY_PATTERN.fullmatch(key)):
        problems.append(
            (
                f"{path}.key",
                "must start with a lower-case letter and hold only a-z, 0-9 and _ "
                "(at most 64 characters)",
            )
        )
    elif key in reserved_keys():
        problems.append((f"{path}.key", f"{key!r} is reserved for survey links"))
    if kind is not None:
        for name in sorted(set(raw) - COMMON_FIELDS - kind.fields):
            problems.append((f"{path}.{name}", f"is not a field of the {kind.name} question type"))
        kind.check(raw, path, problems)
    return kind is not None


def _check_hidden_fields(raw: Any, keys: dict[str, int], problems: Problems) -> list[str]:
    """The valid names of `hidden_fields` (null: none); a problem for each one that is not.

    `keys` maps the question keys given in the definition to their question's index: a link
    parameter named after one answers that question, so it cannot also be a hidden field."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(("$.hidden_fields", "must be a list of names"))
        return []
    if len(raw) > MAX_HIDDEN_FIELDS:
        problems.append(("$.hidden_fields", f"must have at most {MAX_HIDDEN_FIELDS} names"))
    seen: dict[str, int] = {}
    for i, name in enumerate(raw):
        path = f"$.hidden_fields[{i}]"
        if not isinstance(name, str) or not HIDDEN_FIELD_PATTERN.fullmatch(name):
            problems.append(
                (
                    path,
                    "must hold only letters, digits, _, - and . (at most 64 characters, "
                    "not starting with - or .)",
                )
            )
        elif name in reserved_keys() or name.startswith(IDENTITY_PREFIX):
            problems.append((path, "is reserved for survey links: their pages read it themselves"))
        elif name in seen:
            problems.append((path, f"repeats $.hidden_fields[{seen[name]}]"))
        elif name in keys:
            problems.append(
                (
                    path,
                    f"is the key of $.questions[{keys[name]}]: a link parameter of that name "
                    "answers the question",
                )
            )
        else:
            seen[name] = i
    return list(seen)


def normalize(data: Any) -> dict[str, Any]:
    """Validate a definition and return it with every key and default made explicit.

    Raises DefinitionError listing every problem found.
    """
    problems: Problems = []
    if not isinstance(data, dict):
        raise DefinitionError([("$", "must be a JSON object")])
    _check_storable(data, "$", problems)
    for name in sorted(set(data) - SURVEY_FIELDS):
        problems.append((f"$.{name}", "is not a field of a survey definition"))
    _check_text(data, "title", "$", 200, problems, required=True)
    _check_text(data, "intro", "$", MAX_HELP, problems, required=False)
    _check_text(data, "thank_you", "$", MAX_HELP, problems, required=False)
    _check_text(data, "language", "$", 10, problems, required=False)
    questions = data.get("questions", [])
    if not isinstance(questions, list):
        problems.append(("$.questions", "must be a list"))
        questions = []
    if len(questions) > MAX_QUESTIONS:
        problems.append(("$.questions", f"must have at most {MAX_QUESTIONS} questions"))
    given: dict[str, int] = {}
    # Questions so far that a condition may name: valid, with a key given in the definition
    # (a key made from the prompt later cannot be referred to).
    earlier: dict[str, dict[str, Any]] = {}
    for i, raw in enumerate(questions):
        path = f"$.questions[{i}]"
        valid = _check_question(raw, path, problems)
        key = raw.get("key") if isinstance(raw, dict) else None
        if valid and raw.get("show_if") is not None:
            conditions.check(raw["show_if"], f"{path}.show_if", earlier, problems)
        if isinstance(key, str):
            if key in given:
                first = given[key] + 1
                problems.append(
                    (
                        f"{path}.key",
                        f"another question already uses the key “{key}” (question {first})",
                    )
                )
            given.setdefault(key, i)
            if valid and key not in earlier:
                earlier[key] = raw
    hidden = _check_hidden_fields(data.get("hidden_fields"), given, problems)
    if problems:
        raise DefinitionError(problems)
    # A key made from a prompt avoids the hidden fields as well as the keys given.
    taken = set(given) | set(hidden)
    out_questions = []
    for raw in questions:
        kind = QUESTION_TYPES[raw["type"]]
        key = raw.get("key") or key_from_prompt(raw["prompt"], taken)
        taken.add(key)
        q = {"key": key, "type": kind.name, "prompt": raw["prompt"].strip()}
        q["help"] = raw.get("help") or ""
        q["required"] = raw.get("required", False)
        # Only fields the type accepts, so a normalized definition is valid input again; a
        # fixed range (nps 0-10, rating and csat 1-5) is not a field: build_spec adds it.
        q.update({k: v for k, v in kind.defaults().items() if k in kind.fields})
        q.update({k: v for k, v in raw.items() if k in kind.fields})
        if "choices" in q:
            q["choices"] = [c.strip() for c in q["choices"]]
            q.setdefault("allow_other", False)
            q.setdefault("other_label", OTHER_LABEL)
        if raw.get("show_if") is not None:
            q["show_if"] = conditions.normalized(raw["show_if"])
        out_questions.append(q)
    out = {
        "title": data["title"].strip(),
        "intro": data.get("intro") or "",
        "thank_you": data.get("thank_you") or "",
        "language": data.get("language") or "en",
        "hidden_fields": hidden,
        "questions": out_questions,
    }
    texts = translations.normalize(
        data.get("translations"), out["language"], out_questions, problems
    )
    if problems:
        raise DefinitionError(problems)
    if texts:
        out["translations"] = texts
    return out


def build_spec(definition: dict[str, Any]) -> SurveySpec:
    """Turn a normalized definition into the immutable spec the app reads."""
    language = definition.get("language", "en")
    questions = []
    for q in definition["questions"]:
        fixed = QUESTION_TYPES[q["type"]].defaults()
        questions.append(
            Question(
                key=q["key"],
                type=q["type"],
                prompt=q["prompt"],
                help=q.get("help", ""),
                required=q.get("required", False),
                choices=tuple(q.get("choices", ())),
                allow_other=q.get("allow_other", False),
                other_label=q.get("other_label", OTHER_LABEL),
                min=q.get("min", fixed.get("min")),
                max=q.get("max", fixed.get("max")),
                min_label=q.get("min_label", ""),
                max_label=q.get("max_label", ""),
                labels=tuple(q.get("labels", ())),
                placeholder=q.get("placeholder", ""),
                show_if=conditions.from_definition(q.get("show_if")),
            )
        )
    return SurveySpec(
        title=definition["title"],
        questions=tuple(questions),
        intro=definition.get("intro", ""),
        thank_you=definition.get("thank_you", ""),
        language=language,
        hidden_fields=tuple(definition.get("hidden_fields", ())),
        translations=definition.get("translations", {}),
    )
