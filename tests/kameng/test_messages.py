"""`make messages` keeps every translation we have and leaves none to do.

makemessages --no-obsolete drops each entry of locale/zh_Hans whose msgid it does
not find in our files, so a string shown through gettext(variable) or one of a
library's must be marked where makemessages reads it (gettext_noop in
kameng/beat.py, kameng/third_party_strings.py). The test runs the Makefile's
makemessages on a copy of the locale folder (makemessages rewrites django.po in
place) and compares the result with the committed catalogue.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow  # ~10 s: started first in a parallel run

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale"
CATALOGUE = Path("zh_Hans/LC_MESSAGES/django.po")
# The files makemessages reads; it skips hidden folders itself, but it knows
# STATIC_ROOT and MEDIA_ROOT only by their place, which the copy changes.
READ = {".py", ".html", ".txt"}
SKIPPED = {LOCALE, Path(settings.STATIC_ROOT), Path(settings.MEDIA_ROOT)}

FIELD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$')
ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class Message:
    translations: tuple[str, ...]
    fuzzy: bool


def unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m[1], m[0]), text)


def read_catalogue(po: Path) -> dict[tuple, Message]:
    """(msgctxt, msgid, msgid_plural) -> its translations, for every message
    (the header and obsolete "#~" entries left out)."""
    messages = {}
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        flags, last = "", None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags = line
            elif match := FIELD.match(line):
                last = match[1]
                fields[last] = unquote(match[2])
            elif line.startswith('"') and last is not None:
                fields[last] += unquote(line[1:-1])
        if fields.get("msgid"):
            key = (fields.get("msgctxt"), fields["msgid"], fields.get("msgid_plural"))
            translations = tuple(v for k, v in fields.items() if k.startswith("msgstr"))
            messages[key] = Message(translations, fuzzy="fuzzy" in flags)
    return messages


def listed(msgids: list[str]) -> str:
    return "\n".join(repr(msgid) for msgid in msgids)


def make_messages_arguments() -> list[str]:
    """makemessages' arguments as the Makefile's `messages` target gives them."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(line for line in makefile.splitlines() if " makemessages " in line)
    return shlex.split(line.split("manage.py", 1)[1])


def copy_tree(target: Path) -> None:
    """The files makemessages reads, linked at their places under `target`, and
    a copy of the locale folder for it to rewrite."""
    for folder, folders, files in os.walk(ROOT):
        here = Path(folder)
        folders[:] = [
            name
            for name in folders
            if not name.startswith(".") and here / name not in SKIPPED
        ]
        for name in files:
            if Path(name).suffix in READ:
                link = target / (here / name).relative_to(ROOT)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(here / name)
    shutil.copytree(LOCALE, target / "locale")


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def gettext_tools():
    if shutil.which("msguniq") and shutil.which("msgmerge"):
        return
    reason = "needs GNU gettext (make system-packages)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def test_make_messages_keeps_every_translation_and_leaves_none_to_do(
    tmp_path, gettext_tools
):
    tree, config = tmp_path / "tree", tmp_path / "config"
    copy_tree(tree)
    # Our locale folder, not the real one, is where makemessages writes.
    config.mkdir()
    (config / "messages_settings.py").write_text(
        f"from kameng.settings import *  # noqa: F403\n"
        f"LOCALE_PATHS = [{str(tree / 'locale')!r}]\n",
        encoding="utf-8",
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "messages_settings",
        "PYTHONPATH": os.pathsep.join([str(config), str(ROOT)]),
    }
    before = fingerprint(LOCALE)
    committed = read_catalogue(LOCALE / CATALOGUE)

    run = subprocess.run(
        [sys.executable, "-m", "django", *make_messages_arguments()],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stderr
    assert fingerprint(LOCALE) == before, "makemessages wrote to the real locale"
    extracted = read_catalogue(tree / "locale" / CATALOGUE)
    dropped = sorted(key[1] for key in committed if key not in extracted)
    assert not dropped, (
        "`make messages` would drop these translations: mark each string where "
        "it lives (gettext_noop for one shown through gettext(variable)), or a "
        "library's in kameng/third_party_strings.py:\n" + listed(dropped)
    )
    to_translate = sorted(
        key[1]
        for key, message in extracted.items()
        if message.fuzzy or not message.translations or not all(message.translations)
    )
    assert not to_translate, (
        "`make messages` finds these strings untranslated (or with a guessed, "
        "fuzzy translation): give each its Chinese in django.po:\n"
        + listed(to_translate)
    )
