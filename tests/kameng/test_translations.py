"""Every string we wrote has its Chinese translation, compiled; plural forms fit
Chinese (one form); and the English of django-unfold, which ships no zh_Hans
catalogue, is covered by ours."""

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import unfold
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"
MO = PO.with_suffix(".mo")

# unfold's template folders for parts we do not install (constance, import-export,
# simple-history, crispy forms): their strings never reach a page of ours.
UNFOLD_UNUSED = ("constance", "import_export", "simple_history", "unfold_crispy")


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict = field(default_factory=dict)  # "" or plural index -> text
    flags: str = ""
    line: int = 0


def _unquote(text: str) -> str:
    return (
        bytes(text[1:-1], "utf-8")
        .decode("unicode_escape")
        .encode("latin-1")
        .decode("utf-8")
    )


def po_entries() -> list[Entry]:
    """The catalogue's entries (multi-line strings joined, escapes decoded)."""
    entries: list[Entry] = []
    entry, key = Entry(), None
    for number, line in enumerate(PO.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            if key is not None:
                entries.append(entry)
            entry, key = Entry(), None
            continue
        if line.startswith("#,"):
            entry.flags = line
            continue
        if line.startswith("#"):
            continue
        match = re.match(
            r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?) (\".*\")$", line
        )
        if match:
            key = match.group(2) if match.group(2) is not None else match.group(1)
            entry.line = entry.line or number
            value = _unquote(match.group(3))
            if key == "msgid":
                entry.msgid = value
            elif key == "msgctxt":
                entry.msgctxt = value
            elif key == "msgid_plural":
                entry.msgid_plural = value
            else:
                entry.msgstr["" if key == "msgstr" else key] = value
            continue
        assert line.startswith('"'), f"line {number}: cannot read {line!r}"
        value = _unquote(line)
        if key == "msgid":
            entry.msgid += value
        elif key == "msgctxt":
            entry.msgctxt += value
        elif key == "msgid_plural":
            entry.msgid_plural += value
        else:
            slot = "" if key == "msgstr" else key
            entry.msgstr[slot] += value
    if key is not None:
        entries.append(entry)
    return entries


def messages() -> list[Entry]:
    return [e for e in po_entries() if e.msgid]


def header() -> str:
    return next(e for e in po_entries() if not e.msgid).msgstr[""]


def placeless(text: str) -> str:
    return re.sub(r"%\(\w+\)[sd]|\{\w*\}", "", text)


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\(\w+\)[sd]|\{\w*\}", text))


def test_every_message_has_a_chinese_translation():
    untranslated = [
        e.msgid for e in messages() if not all(e.msgstr.values()) or not e.msgstr
    ]
    assert untranslated == []


def test_no_message_is_there_twice():
    seen, twice = set(), []
    for e in messages():
        key = (e.msgctxt, e.msgid)
        if key in seen:
            twice.append(e.msgid)
        seen.add(key)
    assert twice == []


def test_chinese_has_one_plural_form():
    assert "Plural-Forms: nplurals=1; plural=0;" in header()


def test_every_plural_message_has_its_one_chinese_form():
    plurals = [e for e in messages() if e.msgid_plural is not None]
    assert plurals, "the catalogue has plural messages"
    wrong = [
        e.msgid for e in plurals if set(e.msgstr) != {"0"} or not e.msgstr["0"].strip()
    ]
    assert wrong == []
    singular_with_plural_slots = [
        e.msgid for e in messages() if e.msgid_plural is None and "" not in e.msgstr
    ]
    assert singular_with_plural_slots == []


def test_translations_keep_their_placeholders():
    broken = [
        (e.line, e.msgid)
        for e in messages()
        for text in e.msgstr.values()
        if placeholders(text) != placeholders(e.msgid)
    ]
    assert broken == []


def test_compiled_catalogue_matches_the_po_file():
    with MO.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    stale = []
    for e in messages():
        if e.msgid_plural is not None:
            got = catalogue.ngettext(e.msgid, e.msgid_plural, 1)
            want = e.msgstr["0"]
        elif e.msgctxt is not None:
            got, want = catalogue.pgettext(e.msgctxt, e.msgid), e.msgstr[""]
        else:
            got, want = catalogue.gettext(e.msgid), e.msgstr[""]
        if got != want:
            stale.append(e.msgid)
    assert stale == [], "run `manage.py compilemessages -l zh_Hans --ignore=.venv`"


def unfold_strings() -> set[str]:
    """The plain {% trans "…" %} and _("…") strings of the unfold we use."""
    root = Path(unfold.__file__).parent
    found = set()
    sources = [*root.rglob("templates/**/*.html"), *root.rglob("*.py")]
    for template in sources:
        if any(part in UNFOLD_UNUSED for part in template.parts):
            continue
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(
            r"\{%\s*(?:trans|translate)\s+(['\"])(.+?)\1\s*(?:as \w+\s*)?%\}"
            r"|\b_\((['\"])(.+?)\3\)",
            text,
        ):
            found.add(match.group(2) or match.group(4))
    return found


@pytest.mark.parametrize("language", ["zh-hans"])
def test_unfold_speaks_chinese(language):
    strings = unfold_strings()
    assert "Welcome back to" in strings and "Select all rows" in strings
    with translation.override(language):
        english = sorted(
            s
            for s in strings
            if translation.gettext(s) == s and re.search(r"[A-Za-z]{2}", placeless(s))
        )
    assert english == []
