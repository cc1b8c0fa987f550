"""Keep the respondent pages' translation catalogs in step with the code.

    python scripts/messages.py           extract, merge into every catalog, compile
    python scripts/messages.py --check   only report what is missing, fuzzy, empty or stale

Django's `makemessages` cannot read Jinja2 templates, so the strings are extracted here:
from the respondent templates with Jinja2's own parser, and from the Python files whose
messages a respondent can see with `ast`. The merge and the compilation are GNU gettext's
(`msgmerge`, `msgfmt`), so translations already made are kept, and a string that changed
is marked fuzzy until someone checks it.
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sounding"
LOCALE_DIR = PACKAGE / "locale"
TEMPLATE_DIRS = [PACKAGE / "collect" / "jinja2"]
PYTHON_GLOBS = ["collect/*.py", "surveys/questions.py"]
LANGUAGES = {
    "fr": ("French", "nplurals=2; plural=(n > 1);"),
    "de": ("German", "nplurals=2; plural=(n != 1);"),
    "es": ("Spanish", "nplurals=2; plural=(n != 1);"),
    "pt": ("Portuguese", "nplurals=2; plural=(n > 1);"),
}
DOMAIN = "django"

# Function name -> positions of (context, singular, plural) among the call's arguments.
KEYWORDS: dict[str, tuple[int | None, int, int | None]] = {
    "_": (None, 0, None),
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}
PYTHON_FORMAT = re.compile(r"%(\([A-Za-z_][A-Za-z0-9_]*\))?[-#0 +]*[0-9]*(\.[0-9]+)?[sdifr]")


@dataclass
class Message:
    msgid: str
    plural: str = ""
    context: str = ""
    locations: list[str] = field(default_factory=list)

    @property
    def ident(self) -> tuple[str, str]:
        return (self.context, self.msgid)


@dataclass
class Entry:
    """One translation in a .po file."""

    msgid: str
    context: str = ""
    plural: str = ""
    strings: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def ident(self) -> tuple[str, str]:
        return (self.context, self.msgid)

    @property
    def translated(self) -> bool:
        return bool(self.strings) and all(self.strings)


# Extraction ---------------------------------------------------------------------------------


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _jinja_messages(path: Path, env: jinja2.Environment) -> Iterator[Message]:
    source = path.read_text(encoding="utf-8")
    for lineno, function, message in env.extract_translations(source):
        where = f"{_relative(path)}:{lineno}"
        strings = message if isinstance(message, tuple) else (message,)
        if function in ("ngettext", "npgettext") and len(strings) >= 2:
            context = strings[0] if function == "npgettext" else None
            rest = strings[1:] if context is not None else strings
            if isinstance(rest[0], str) and isinstance(rest[1], str):
                yield Message(rest[0], rest[1], context or "", [where])
        elif function == "pgettext" and len(strings) >= 2:
            if isinstance(strings[0], str) and isinstance(strings[1], str):
                yield Message(strings[1], context=strings[0], locations=[where])
        elif isinstance(strings[0], str):
            yield Message(strings[0], locations=[where])


def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return ""


def _literal(args: list[ast.expr], index: int | None) -> str | None:
    if index is None:
        return ""
    if index < len(args):
        arg = args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


def _python_messages(path: Path) -> Iterator[Message]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _call_name(node) not in KEYWORDS:
            continue
        context_at, singular_at, plural_at = KEYWORDS[_call_name(node)]
        context = _literal(node.args, context_at)
        singular = _literal(node.args, singular_at)
        plural = _literal(node.args, plural_at)
        # A variable (`gettext(message)`) was marked where its text was written.
        if context is not None and singular and plural is not None:
            yield Message(singular, plural, context, [f"{_relative(path)}:{node.lineno}"])


def template_files() -> list[Path]:
    return sorted(p for d in TEMPLATE_DIRS for p in d.rglob("*.html"))


def python_files() -> list[Path]:
    return sorted(p for pattern in PYTHON_GLOBS for p in PACKAGE.glob(pattern))


def extract() -> list[Message]:
    """Every message a respondent can see, in a stable order, locations merged."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    found: dict[tuple[str, str], Message] = {}
    sources: list[Iterable[Message]] = [_jinja_messages(p, env) for p in template_files()]
    sources += [_python_messages(p) for p in python_files()]
    for source in sources:
        for message in source:
            known = found.setdefault(message.ident, message)
            if known is not message:
                known.locations += message.locations
                known.plural = known.plural or message.plural
    return sorted(found.values(), key=lambda m: (_position(m.locations[0]), m.ident))


def _position(location: str) -> tuple[str, int]:
    path, _, line = location.rpartition(":")
    return (path, int(line))


# Catalog files ------------------------------------------------------------------------------


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    lines = escaped.split("\n")
    if len(lines) == 1:
        return f'"{escaped}"'
    parts = [line + "\\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return '""\n' + "\n".join(f'"{part}"' for part in parts)


def _is_python_format(message: Message) -> bool:
    return any(PYTHON_FORMAT.search(text) for text in (message.msgid, message.plural) if text)


def write_template(messages: list[Message], path: Path) -> None:
    """A .pot file: the source strings with empty translations."""
    out = [
        'msgid ""',
        'msgstr ""',
        '"Project-Id-Version: sounding\\n"',
        '"MIME-Version: 1.0\\n"',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Content-Transfer-Encoding: 8bit\\n"',
        "",
    ]
    for message in messages:
        out += [f"#: {' '.join(message.locations)}"]
        if _is_python_format(message):
            out += ["#, python-format"]
        if message.context:
            out += [f"msgctxt {_quote(message.context)}"]
        out += [f"msgid {_quote(message.msgid)}"]
        if message.plural:
            out += [f"msgid_plural {_quote(message.plural)}", 'msgstr[0] ""', 'msgstr[1] ""']
        else:
            out += ['msgstr ""']
        out += [""]
    path.write_text("\n".join(out), encoding="utf-8")


def _new_catalog(lang: str, path: Path) -> None:
    name, plural_forms = LANGUAGES[lang]
    header = [
        f"# {name} translation of Sounding's respondent pages.",
        'msgid ""',
        'msgstr ""',
        '"Project-Id-Version: sounding\\n"',
        '"PO-Revision-Date: 2026-01-01 00:00+0000\\n"',
        '"Last-Translator: Sounding contributors\\n"',
        f'"Language-Team: {name}\\n"',
        f'"Language: {lang}\\n"',
        '"MIME-Version: 1.0\\n"',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Content-Transfer-Encoding: 8bit\\n"',
        f'"Plural-Forms: {plural_forms}\\n"',
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(header), encoding="utf-8")


def _unquote(line: str) -> str:
    body = line[line.index('"') + 1 : line.rindex('"')]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (obsolete `#~` ones left out), the header excluded."""
    entries: list[Entry] = []
    current = Entry("")
    target: tuple[str, int] | None = None  # which string continuation lines extend

    def finish() -> None:
        nonlocal current
        if target is not None and current.msgid:
            entries.append(current)
        current = Entry("")

    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            finish()
            target = None
        elif line.startswith("#,"):
            current.flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
        elif line.startswith("#"):
            continue
        elif line.startswith('"') and target is not None:
            _extend(current, target, _unquote(line))
        else:
            keyword = line.split(" ", 1)[0]
            target = _start(current, keyword, _unquote(line))
    return entries


def _start(entry: Entry, keyword: str, text: str) -> tuple[str, int]:
    if keyword.startswith("msgstr"):
        index = int(keyword[7:-1]) if "[" in keyword else 0
        entry.strings += [""] * (index + 1 - len(entry.strings))
        entry.strings[index] = text
        return ("msgstr", index)
    _extend(entry, (keyword, 0), text, replace=True)
    return (keyword, 0)


def _extend(entry: Entry, target: tuple[str, int], text: str, replace: bool = False) -> None:
    keyword, index = target
    if keyword == "msgstr":
        entry.strings[index] += text
    else:
        name = {"msgid": "msgid", "msgid_plural": "plural", "msgctxt": "context"}[keyword]
        setattr(entry, name, text if replace else getattr(entry, name) + text)


def catalog_path(lang: str, suffix: str = "po") -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.{suffix}"


def _run(*args: str) -> None:
    if shutil.which(args[0]) is None:
        sys.exit(f"{args[0]} is missing: install GNU gettext (apt-get install gettext).")
    subprocess.run(args, check=True)


def compile_catalog(po: Path, mo: Path) -> None:
    # --check refuses a translation whose %(name)s placeholders differ from the original's.
    _run("msgfmt", "--check", "--output-file", str(mo), str(po))


def merge(template: Path, lang: str) -> None:
    po = catalog_path(lang)
    if not po.exists():
        _new_catalog(lang, po)
    # Locations by file only, so moving a line does not rewrite every catalog.
    options = ["--quiet", "--update", "--backup=none", "--previous", "--no-wrap"]
    _run("msgmerge", *options, "--add-location=file", str(po), str(template))
    _run("msgattrib", "--no-obsolete", "--no-wrap", "--output-file", str(po), str(po))
    compile_catalog(po, catalog_path(lang, "mo"))


# Checks -------------------------------------------------------------------------------------


def compiled_catalog(mo: Path) -> dict[object, str]:
    with mo.open("rb") as fp:
        return dict(gettext.GNUTranslations(fp)._catalog)  # type: ignore[attr-defined]


def problems(lang: str, messages: list[Message]) -> list[str]:
    """Everything that keeps `lang` from showing every respondent string, translated."""
    po, mo = catalog_path(lang), catalog_path(lang, "mo")
    if not po.exists():
        return [f"{po} is missing"]
    entries = {e.ident: e for e in read_po(po)}
    out = []
    for message in messages:
        entry = entries.get(message.ident)
        label = f"{lang}: {message.msgid!r} ({message.locations[0]})"
        if entry is None:
            out.append(f"{label} is not in the catalog")
        elif "fuzzy" in entry.flags:
            out.append(f"{label} is fuzzy: check the translation, then drop the flag")
        elif not entry.translated:
            out.append(f"{label} has no translation")
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / f"{lang}.mo"
        compile_catalog(po, fresh)
        if not mo.exists() or compiled_catalog(mo) != compiled_catalog(fresh):
            out.append(f"{mo} does not match {po.name}: run python scripts/messages.py")
    return out


def main(argv: list[str]) -> int:
    messages = extract()
    if "--check" not in argv:
        with tempfile.TemporaryDirectory() as tmp:
            template = Path(tmp) / f"{DOMAIN}.pot"
            write_template(messages, template)
            for lang in LANGUAGES:
                merge(template, lang)
    found = [p for lang in LANGUAGES for p in problems(lang, messages)]
    print("\n".join(found) or f"{len(messages)} messages, translated in: {', '.join(LANGUAGES)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
