"""Structured rows for a SKU's JSON fields, instead of a raw JSON box.

Recharge fields are edited as rows of (field key, field label, check rule, regular
expression, required field); specs as rows of (name, value). Each posts as
``<name>-<index>-<column>`` inputs; the field turns the rows back into exactly the
JSON the model stores, and names the row and column of every problem ("第 2 行
「校验规则」：…"). Rows are numbered in the order they are shown, blank rows are
dropped. static/catalog/rows-editor.js adds and removes rows (no inline script);
without it one blank row is always offered, and clearing a row removes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.recharge import COLUMNS, REGEX_PREFIX, check_recharge_fields

MAX_POSTED_ROWS = 100  # more rows than any field allows; beyond it, refused
MAX_SPECS = 30
MAX_SPEC_NAME = 40
MAX_SPEC_VALUE = 120
REGEX_RULE = "regex"


@dataclass(frozen=True)
class Column:
    name: str
    label: str | Promise
    kind: str = "text"  # text, select, checkbox or hidden
    choices: tuple = ()
    placeholder: str | Promise = ""
    maxlength: int | None = None


class SubmittedRows(list):
    """Rows as posted, [{column: value}] in the order shown; a refused form shows
    them again exactly as typed."""

    too_many = False


def row_problem(number: int, column: Column, problem: str) -> str:
    return gettext("Row %(row)s, %(column)s: %(problem)s") % {
        "row": number,
        "column": column.label,
        "problem": problem,
    }


class RowsWidget(forms.Widget):
    template_name = "catalog/widgets/rows.html"

    class Media:
        css = {"all": ("catalog/rows-editor.css",)}
        js = ("catalog/rows-editor.js",)

    def __init__(self, columns: tuple[Column, ...], to_rows, blank_row, attrs=None):
        super().__init__(attrs)
        self.columns = columns
        self.to_rows = to_rows  # stored JSON -> [{column: value}]
        self.blank_row = blank_row  # what a new row starts with

    def value_from_datadict(self, data, files, name):
        rows = SubmittedRows()
        posted = re.compile(rf"{re.escape(name)}-([0-9]{{1,6}})-")
        indices = sorted({int(m.group(1)) for key in data if (m := posted.match(key))})
        rows.too_many = len(indices) > MAX_POSTED_ROWS
        for index in indices[:MAX_POSTED_ROWS]:
            prefix = f"{name}-{index}-"
            names = [prefix + column.name for column in self.columns]
            row = {}
            for column, field in zip(self.columns, names, strict=True):
                if column.kind == "checkbox":
                    row[column.name] = field in data
                else:
                    row[column.name] = str(data.get(field, "")).strip()
            rows.append(row)
        return rows

    def id_for_label(self, id_):
        return None  # the label names a group of rows, not one input

    def value_omitted_from_data(self, data, files, name):
        return f"{name}-present" not in data

    def _cells(self, name: str, index, row: dict) -> list[dict]:
        cells = []
        for column in self.columns:
            value = row.get(column.name, "")
            choices = list(column.choices)
            if column.kind == "select" and value not in {c[0] for c in choices}:
                choices.insert(0, (value, value))  # stored but unknown: shown as is
            cells.append(
                {
                    "column": column,
                    "name": f"{name}-{index}-{column.name}",
                    "value": value,
                    "choices": choices,
                }
            )
        return cells

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = value if isinstance(value, SubmittedRows) else self.to_rows(value)
        blank = self.blank_row()
        rows = [*rows, blank]
        context["widget"].update(
            label=getattr(self, "label", ""),
            columns=self.columns,
            rows=[
                {"number": n, "cells": self._cells(name, n - 1, row)}
                for n, row in enumerate(rows, start=1)
            ],
            template_row={"number": "", "cells": self._cells(name, "__index__", blank)},
            next_index=len(rows),
        )
        return context

    def render(self, name, value, attrs=None, renderer=None):
        context = self.get_context(name, value, attrs)
        return mark_safe(render_to_string(self.template_name, context))


class RowsField(forms.Field):
    """A JSON value edited as rows; subclasses say how rows and JSON map."""

    columns: tuple[Column, ...] = ()

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs["widget"] = RowsWidget(self.columns, self.to_rows, self.blank_row)
        super().__init__(**kwargs)
        self.widget.label = self.label or ""

    def to_python(self, value):
        if isinstance(value, SubmittedRows):
            if value.too_many:
                raise ValidationError(
                    gettext("At most %(n)s rows.") % {"n": MAX_POSTED_ROWS},
                    code="invalid",
                )
            numbered = [
                (n, row)
                for n, row in enumerate(value, start=1)
                if any(row.get(c.name) for c in self.columns if c.kind == "text")
            ]
            return self.from_rows(numbered)
        return value

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != self.to_python(initial)
        except ValidationError:
            return True

    def to_rows(self, value) -> list[dict]:
        raise NotImplementedError

    def blank_row(self) -> dict:
        return {}

    def from_rows(self, numbered: list[tuple[int, dict]]):
        raise NotImplementedError


RULE_CHOICES = (
    ("phone", _("Mobile number")),
    ("qq", _("QQ number")),
    ("email", _("Email address")),
    ("game_id", _("Game ID")),
    (REGEX_RULE, _("Regular expression")),
)


class RechargeFieldsField(RowsField):
    columns = (
        Column("key", COLUMNS["key"], placeholder="phone", maxlength=32),
        Column("label", COLUMNS["label"], placeholder=_("e.g. 手机号码"), maxlength=40),
        Column("rule", COLUMNS["rule"], kind="select", choices=RULE_CHOICES),
        Column(
            "pattern",
            _("regular expression"),
            placeholder=_("only for the regular-expression rule"),
            maxlength=200,
        ),
        Column("required", COLUMNS["required"], kind="checkbox"),
    )

    def blank_row(self) -> dict:
        return {"rule": "phone", "required": True}

    def to_rows(self, value) -> list[dict]:
        if value in (None, ""):
            return []
        items = value if isinstance(value, list) else [value]
        rows = []
        for item in items:
            if not isinstance(item, dict):  # not a row at all: shown, then refused
                rows.append({"label": json.dumps(item, ensure_ascii=False)})
                continue
            rule = str(item.get("rule") or "")
            pattern = ""
            if rule.startswith(REGEX_PREFIX):
                rule, pattern = REGEX_RULE, rule[len(REGEX_PREFIX) :]
            rows.append(
                {
                    "key": str(item.get("key") or ""),
                    "label": str(item.get("label") or ""),
                    "rule": rule,
                    "pattern": pattern,
                    "required": item.get("required", True) is not False,
                }
            )
        return rows

    def from_rows(self, numbered):
        items, problems = [], []
        pattern_column = self.columns[3]
        for number, row in numbered:
            rule, pattern = row.get("rule", ""), row.get("pattern", "")
            if rule == REGEX_RULE:
                rule = REGEX_PREFIX + pattern
            elif pattern:
                problems.append(
                    row_problem(
                        number,
                        pattern_column,
                        gettext(
                            "only the regular-expression rule uses one; clear it or "
                            "choose that rule."
                        ),
                    )
                )
            items.append(
                {
                    "key": row.get("key", ""),
                    "label": row.get("label", ""),
                    "rule": rule,
                    "required": bool(row.get("required")),
                }
            )
        cleaned, found = check_recharge_fields(
            items, rows=[number for number, _row in numbered]
        )
        problems += [str(problem) for problem in found]
        if problems:
            raise ValidationError(problems, code="invalid")
        return cleaned


class SpecsField(RowsField):
    """Specs: {name: value}, or {name: [values]} when a name is on several rows
    (or was a list when loaded: the hidden "many" column keeps that)."""

    columns = (
        Column("name", _("spec name"), placeholder=_("e.g. 区服"), maxlength=40),
        Column("value", _("spec value"), placeholder=_("e.g. 一区"), maxlength=120),
        Column("many", "", kind="hidden"),
    )

    def to_rows(self, value) -> list[dict]:
        if value in (None, ""):
            return []
        if not isinstance(value, dict):
            return [{"value": json.dumps(value, ensure_ascii=False)}]
        rows = []
        for name, item in value.items():
            if isinstance(item, list):
                rows += [{"name": name, "value": _text(v), "many": "1"} for v in item]
            else:
                rows.append({"name": name, "value": _text(item)})
        return rows

    def from_rows(self, numbered):
        name_column, value_column = self.columns[:2]
        if len(numbered) > MAX_SPECS:
            raise ValidationError(
                gettext("At most %(n)s specs.") % {"n": MAX_SPECS}, code="invalid"
            )
        specs: dict = {}
        problems = []
        for number, row in numbered:
            name, value = row.get("name", ""), row.get("value", "")
            bad = False
            if not name or len(name) > MAX_SPEC_NAME:
                problems.append(
                    row_problem(
                        number,
                        name_column,
                        gettext("enter 1 to %(n)s characters.") % {"n": MAX_SPEC_NAME},
                    )
                )
                bad = True
            if not value or len(value) > MAX_SPEC_VALUE:
                problems.append(
                    row_problem(
                        number,
                        value_column,
                        gettext("enter 1 to %(n)s characters.") % {"n": MAX_SPEC_VALUE},
                    )
                )
                bad = True
            if bad:
                continue
            if name in specs:
                if not isinstance(specs[name], list):
                    specs[name] = [specs[name]]
                specs[name].append(value)
            else:
                specs[name] = [value] if row.get("many") else value
        if problems:
            raise ValidationError(problems, code="invalid")
        return specs


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def recharge_fields_table(value) -> str:
    """Recharge fields as a small table for people who may only look."""
    rows = RechargeFieldsField().to_rows(value)
    if not rows:
        return "-"
    rules = dict(RULE_CHOICES)
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                row.get("label", ""),
                row.get("key", ""),
                format_html("{} <code>{}</code>", rules[REGEX_RULE], row["pattern"])
                if row.get("rule") == REGEX_RULE
                else rules.get(row.get("rule"), row.get("rule", "")),
                gettext("Yes") if row.get("required") else gettext("No"),
            )
            for row in rows
        ),
    )
    head = format_html_join(
        "",
        "<th>{}</th>",
        ((COLUMNS[name],) for name in ("label", "key", "rule", "required")),
    )
    return format_html(
        '<table class="kameng-rows__readonly"><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table>",
        head,
        body,
    )


def specs_table(value) -> str:
    """Specs as "name: value、value" lines for people who may only look."""
    if not value:
        return "-"
    if not isinstance(value, dict):
        return _text(value)
    return format_html_join(
        "",
        "<div>{}：{}</div>",
        (
            (
                name,
                "、".join(_text(v) for v in item)
                if isinstance(item, list)
                else _text(item),
            )
            for name, item in value.items()
        ),
    )
