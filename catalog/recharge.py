"""Recharge fields: what a buyer types in for a top-up (phone, QQ, game ID…).

`Sku.recharge_fields` is a JSON list of
``{"key": "account", "label": "充值账号", "rule": "phone", "required": true}``.
`rule` is one of the named rules below or ``"regex:<pattern>"``; `required`
defaults to true.

Entry points:

* `check_recharge_fields(value, rows=...)` checks a definition row by row and
  returns the normalised rows and every FieldProblem (row number, column); the
  SKU page's row editor (catalog/admin/rows.py) shows them.
* `parse_recharge_fields(value)` returns a definition normalised, or raises
  ValidationError with "Row 2, check rule: ..." messages.
* `form_fields(value)`: the fields a checkout form shows (none for a broken
  definition).
* `has_account_field(value)`: the rule that a top-up is never sold without the
  account it credits. A definition names that account when it is valid and holds
  at least one required field. `Sku.lacks_recharge_account()` applies it to a
  top-up SKU and `Sku.account_problem()` to one on sale (Sku.clean raises it):
  listing (admin, status service, scheduled listing, import) and checkout all
  ask those methods.
* `validate_recharge_fields(sku=..., data=...)` checks what a buyer sent (checkout
  calls it for every SKU) and returns the cleaned values, or raises
  ValidationError with one message list per field key; a top-up that lacks its
  account field is refused whatever was sent (code "no_account").

Custom regexes are compiled and run by RE2 (google-re2), whose matching time is
linear in the input whatever the pattern: an operator's careless ``(a+)+$`` answers
as quickly as ``\\d+``. RE2 has no back-references, look-arounds, possessive or
atomic groups (the constructs that need backtracking) and caps a repetition count
at 1000; a pattern using them is refused when the SKU is saved, with the row and
the reason. Input is still capped at MAX_VALUE_LENGTH characters. The checkout
page may echo the pattern as the input's ``pattern`` attribute as a convenience;
the server check is RE2's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import re2
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

MAX_FIELDS = 10
MAX_VALUE_LENGTH = 64
MAX_PATTERN_LENGTH = 200
MAX_LABEL_LENGTH = 40
KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
REGEX_PREFIX = "regex:"
ALLOWED_ITEM_KEYS = {"key", "label", "rule", "required"}

RE2_OPTIONS = re2.Options()
RE2_OPTIONS.log_errors = (
    False  # a refused pattern is reported to the operator, not logged
)


def _clean_phone(value: str) -> str | None:
    compact = re.sub(r"[\s-]", "", value)
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("0086"):
        compact = compact[4:]
    return compact if re.fullmatch(r"1[3-9]\d{9}", compact) else None


def _clean_qq(value: str) -> str | None:
    return value if re.fullmatch(r"[1-9]\d{4,10}", value) else None


def _clean_email(value: str) -> str | None:
    try:
        validate_email(value)
    except ValidationError:
        return None
    return value


def _clean_game_id(value: str) -> str | None:
    return value if re.fullmatch(r"[A-Za-z0-9_-]{4,32}", value) else None


@dataclass(frozen=True)
class Rule:
    clean: Callable[[str], str | None]
    message: str  # lazy; %(label)s is the field's label


RULES: dict[str, Rule] = {
    "phone": Rule(
        _clean_phone,
        _("%(label)s: enter an 11-digit mainland China mobile number."),
    ),
    "qq": Rule(
        _clean_qq,
        _("%(label)s: enter a QQ number (5 to 11 digits, not starting with 0)."),
    ),
    "email": Rule(_clean_email, _("%(label)s: enter a valid email address.")),
    "game_id": Rule(
        _clean_game_id,
        _(
            "%(label)s: use 4 to 32 letters, digits, underscores or hyphens "
            "for the game ID."
        ),
    ),
}


def compile_rule_pattern(pattern: str):
    """Compile the pattern of a "regex:" rule with RE2 or raise ValueError with
    a reason a person can act on."""
    if not pattern:
        raise ValueError(gettext("the pattern is empty"))
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(
            gettext("the pattern is longer than %(n)s characters")
            % {"n": MAX_PATTERN_LENGTH}
        )
    try:
        return re2.compile(pattern, RE2_OPTIONS)
    except re2.error as refused:
        # Only to word the reason: Python's parser says what is wrong with a
        # broken pattern; one it accepts uses a construct RE2 leaves out.
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                gettext("not a valid regular expression (%(error)s)") % {"error": exc}
            ) from refused
        raise ValueError(
            gettext(
                "this form is not supported: back-references such as \\1, "
                "look-arounds such as (?=...) or (?<=...), possessive or atomic "
                "groups, and repetition counts above 1000 are not allowed"
            )
        ) from refused


COLUMNS = {
    "key": _("field key"),
    "label": _("field label"),
    "rule": _("check rule"),
    "required": _("required field"),
}


@dataclass(frozen=True)
class FieldProblem:
    """One problem of one row of a recharge-field definition: `column` is a key
    of COLUMNS, or None when the row as a whole is wrong."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.column is None:
            return gettext("Row %(row)s: %(problem)s") % {
                "row": self.row,
                "problem": self.message,
            }
        return gettext("Row %(row)s, %(column)s: %(problem)s") % {
            "row": self.row,
            "column": COLUMNS[self.column],
            "problem": self.message,
        }


def check_recharge_fields(
    value, *, rows: list[int] | None = None
) -> tuple[list[dict], list[FieldProblem]]:
    """Check a recharge-field definition row by row; return the normalised rows
    ("required" filled in) and every problem found. `rows` numbers the items as
    the person sees them (default 1, 2, 3...). Raises ValidationError only when
    the value is not a list at all or has too many rows."""
    if value in (None, "", []):
        return [], []
    if not isinstance(value, list):
        raise ValidationError(
            gettext(
                'Recharge fields must be a JSON list of {"key", "label", "rule"} '
                "objects."
            ),
            code="invalid",
        )
    if len(value) > MAX_FIELDS:
        raise ValidationError(
            gettext("At most %(n)s recharge fields.") % {"n": MAX_FIELDS},
            code="invalid",
        )
    numbers = rows or list(range(1, len(value) + 1))
    problems: list[FieldProblem] = []
    cleaned: list[dict] = []
    seen: set[str] = set()
    for number, item in zip(numbers, value, strict=True):
        found = len(problems)

        def fail(column, message, *, _row=number):
            problems.append(FieldProblem(_row, column, message))

        if not isinstance(item, dict):
            fail(None, gettext('must be an object like {"key", "label", "rule"}.'))
            continue
        unknown = sorted(set(item) - ALLOWED_ITEM_KEYS)
        if unknown:
            fail(
                None,
                gettext("unknown entries %(names)s.") % {"names": ", ".join(unknown)},
            )
        key, label, rule = item.get("key"), item.get("label"), item.get("rule")
        required = item.get("required", True)
        if not isinstance(key, str) or not KEY_RE.fullmatch(key):
            fail(
                "key",
                gettext(
                    "use 1 to 32 lowercase letters, digits or underscores, "
                    "starting with a letter."
                ),
            )
        elif key in seen:
            fail("key", gettext("%(key)s is used twice.") % {"key": key})
        else:
            seen.add(key)
        if (
            not isinstance(label, str)
            or not label.strip()
            or len(label) > MAX_LABEL_LENGTH
        ):
            fail(
                "label",
                gettext("enter 1 to %(n)s characters.") % {"n": MAX_LABEL_LENGTH},
            )
        rules = ", ".join(RULES)
        if not isinstance(rule, str) or not rule:
            fail(
                "rule",
                gettext("choose one of %(rules)s or regex:<pattern>.")
                % {"rules": rules},
            )
        elif rule.startswith(REGEX_PREFIX):
            try:
                compile_rule_pattern(rule[len(REGEX_PREFIX) :])
            except ValueError as exc:
                fail(
                    "rule",
                    gettext("the regular expression is refused: %(reason)s.")
                    % {"reason": exc},
                )
        elif rule not in RULES:
            fail(
                "rule",
                gettext("%(rule)s is unknown; use one of %(rules)s or regex:<pattern>.")
                % {"rule": rule, "rules": rules},
            )
        if not isinstance(required, bool):
            fail("required", gettext("must be true or false."))
        if len(problems) == found:
            cleaned.append(
                {"key": key, "label": label.strip(), "rule": rule, "required": required}
            )
    return cleaned, problems


def parse_recharge_fields(value) -> list[dict]:
    """Check a recharge-field definition; return it normalised ("required" filled).

    Raises ValidationError with one message per problem, each naming the row and
    the column ("Row 2, check rule: ...").
    """
    cleaned, problems = check_recharge_fields(value)
    if problems:
        raise ValidationError([str(problem) for problem in problems], code="invalid")
    return cleaned


def form_fields(value) -> list[dict]:
    """The fields a checkout form shows for a stored definition: all of them when
    it is valid, none when it is not (a top-up is then refused at checkout,
    rather than its page failing)."""
    try:
        return parse_recharge_fields(value)
    except ValidationError:
        return []


def has_account_field(value) -> bool:
    """Whether a recharge-field definition asks for the account a top-up credits:
    it is valid and at least one of its fields is required."""
    try:
        fields = parse_recharge_fields(value)
    except ValidationError:
        return False
    return any(field["required"] for field in fields)


def _check(rule: str, value: str, label: str) -> tuple[str | None, str]:
    if rule.startswith(REGEX_PREFIX):
        pattern = compile_rule_pattern(rule[len(REGEX_PREFIX) :])
        if pattern.fullmatch(value):
            return value, ""
        return None, gettext("%(label)s: the format is not valid.") % {"label": label}
    named = RULES[rule]
    result = named.clean(value)
    return result, "" if result is not None else named.message % {"label": label}


def validate_recharge_fields(*, sku, data: dict) -> dict:
    """Check what a buyer entered for `sku`; return {key: cleaned value}.

    Only declared keys are returned (anything else in `data` is dropped). Text is
    stripped; an optional field left empty comes back as "". Raises ValidationError
    with {key: [message]} for every field that is wrong.
    """
    if sku.lacks_recharge_account():
        raise ValidationError(
            gettext(
                "This top-up cannot be bought right now: it does not ask for the "
                "account to credit. Please contact support."
            ),
            code="no_account",
        )
    fields = parse_recharge_fields(sku.recharge_fields)
    if not isinstance(data, dict):
        raise ValidationError(gettext("Recharge details are missing."), code="invalid")
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for field in fields:
        key, label = field["key"], field["label"]
        raw = data.get(key)
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if raw is not None and not isinstance(raw, str):
            errors[key] = [
                gettext("%(label)s: enter text.") % {"label": label},
            ]
            continue
        value = (raw or "").strip()
        if not value:
            if field["required"]:
                errors[key] = [
                    gettext("%(label)s: this field is required.") % {"label": label}
                ]
            else:
                cleaned[key] = ""
            continue
        if len(value) > MAX_VALUE_LENGTH:
            errors[key] = [
                gettext("%(label)s: at most %(n)s characters.")
                % {"label": label, "n": MAX_VALUE_LENGTH}
            ]
            continue
        result, message = _check(field["rule"], value, label)
        if result is None:
            errors[key] = [message]
        else:
            cleaned[key] = result
    if errors:
        raise ValidationError(errors)
    return cleaned
