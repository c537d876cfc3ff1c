"""Arbitrary HTTP requests at every URL the project serves, for Hypothesis.

The URLs are found, not listed: every pattern of the root URLconf becomes a
Route, whose path parameters are drawn from the converter's own regex or from
values that exist in the database (so a change page opens a real object as
well as "²"). Query and form parameter names and header names come from the
admin's own configuration and from a scan of the project's source, so a new
view or filter is fuzzed with the names it reads without anyone listing them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

from django.conf import settings
from django.contrib.admin import ModelAdmin
from django.db import models
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from hypothesis import strategies as st

PROJECT_APPS = ("kameng", "users", "catalog", "marketing", "orders", "analytics")

# Inputs that broke a page before, and their relatives: digits that are not
# ASCII, more digits than int() or a column takes, text that is not ASCII.
NASTY = (
    "²",
    "٣",
    "１２",
    "9" * 5000,
    "9" * 20,
    "-1",
    "0",
    "1e309",
    "NaN",
    "2026-02-30",
    "é" * 64,
    "签名",
    "",
    "%zz",
    "a" * 300,
    "a\x00b",  # PostgreSQL refuses NUL in text
)

ADMIN_QUERY_NAMES = (
    "q",
    "o",
    "p",
    "e",
    "all",
    "_to_field",
    "_popup",
    "_changelist_filters",
    "action",
    "select_across",
    "index",
    "_selected_action",
    "term",
    "app_label",
    "model_name",
    "field_name",
)
ADMIN_FORM_NAMES = ("_save", "_continue", "_addanother", "_saveasnew", "post")
LOOKUP_SUFFIXES = (
    "",
    "__exact",
    "__id__exact",
    "__isnull",
    "__in",
    "__gte",
    "__lt",
    "__range",
    "__year",
    "__month",
    "__day",
)
COMMON_HEADERS = (
    "Accept",
    "Accept-Language",
    "Authorization",
    "Cookie",
    "Host",
    "If-Modified-Since",
    "If-None-Match",
    "Origin",
    "Range",
    "Referer",
    "User-Agent",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Requested-With",
    "HX-Request",
)
# The test client, not the application, reads these: a forged length would make
# the fake WSGI input refuse to read, which no real server hands to Django.
CLIENT_HEADERS = {"content-length", "content-type"}
METHODS = ("GET", "GET", "POST", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS")
CONTENT_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    MULTIPART_CONTENT,
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "text/plain; charset=gb18030",
    "application/json; charset=utf-16",
    "application/octet-stream",
    "",
    "é/é",
)

# Both payment gateways and the sandbox supplier switched on (tests run without
# DEBUG, where they are off), so their endpoints are fuzzed past "unknown channel".
EPAY_KEY = "fuzz-epay-key-0123456789"
EPAY_PID = "1001"
CHANNELS = {
    "sandbox": {"enabled": True, "key": "fuzz-sandbox-key-0123456789abcdef"},
    "epay": {
        "enabled": True,
        "url": "https://pay.example.com/",
        "pid": EPAY_PID,
        "key": EPAY_KEY,
        "type": "alipay",
    },
}

ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
# What a URL path may carry once decoded: any character but a lone surrogate.
PATH_CHARACTERS = st.characters(codec="utf-8")
# A header value reaches Django decoded as latin-1; CR, LF and NUL end a header.
HEADER_CHARACTERS = st.characters(
    codec="latin-1", exclude_characters="\r\n\x00", exclude_categories=["Cs"]
)


# --- the URLs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern, as literal text and regex slots for its parameters."""

    route: str  # "shop/orders/<str:order_no>/", for people
    parts: tuple[str | re.Pattern, ...]
    module: str = ""  # where the view is defined: the names it reads come first
    model_admin: ModelAdmin | None = field(default=None, compare=False)

    @property
    def back_office(self) -> bool:
        return self.route.startswith("admin/")

    @property
    def test_name(self) -> str:
        slug = re.sub(r"[^0-9A-Za-z]+", "_", self.route).strip("_")
        return slug or "root"


def _strip_anchors(regex: str) -> str:
    regex = regex.removeprefix("^")
    for end in (r"\Z", "$"):
        regex = regex.removesuffix(end)
    return regex


def _parts_of(pattern) -> list[str | re.Pattern]:
    """A pattern's literal text and the regex of each parameter, in order."""
    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        parts: list[str | re.Pattern] = []
        position = 0
        for match in ROUTE_PARAMETER.finditer(route):
            parts.append(route[position : match.start()])
            converter = pattern.converters[match["name"]]
            parts.append(re.compile(converter.regex))
            position = match.end()
        parts.append(route[position:])
        return [part for part in parts if part != ""]
    regex = _strip_anchors(pattern.regex.pattern)
    return [re.compile(regex)] if regex else []


def _walk(resolver, prefix_text, prefix_parts):
    for pattern in resolver.url_patterns:
        text = prefix_text + str(pattern.pattern)
        parts = prefix_parts + _parts_of(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, text, parts)
        elif isinstance(pattern, URLPattern):
            model_admin = getattr(pattern.callback, "model_admin", None)
            module = type(model_admin).__module__ if model_admin else ""
            yield Route(
                route=text,
                parts=tuple(parts),
                module=module or pattern.callback.__module__,
                model_admin=model_admin,
            )


@cache
def all_routes() -> tuple[Route, ...]:
    """Every URL pattern of the root URLconf, each once."""
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver(), "", []):
        seen.setdefault(route.route, route)
    return tuple(seen.values())


# --- the names a view reads -------------------------------------------------------

_READ_NAME = re.compile(
    r"""(?:GET|POST|FILES|params|data|payload|query|cleaned_data|fields)"""
    r"""\.(?:get|getlist|pop)\(\s*["']([A-Za-z_][\w\-]{0,40})["']"""
    r"""|(?:GET|POST|FILES|params|data|payload)\[\s*["']([A-Za-z_][\w\-]{0,40})["']"""
    r"""|^\s+([a-z_]\w{0,40})\s*=\s*forms\.\w+\("""
    r"""|parameter_name\s*=\s*["']([A-Za-z_]\w{0,40})["']""",
    re.MULTILINE,
)
_READ_HEADER = re.compile(
    r"""headers\.get\(\s*["']([A-Za-z][\w\-]{0,40})["']"""
    r"""|["']HTTP_([A-Z][A-Z0-9_]{0,40})["']"""
    r"""|HEADER_\w+\s*=\s*["']([A-Za-z][\w\-]{0,40})["']"""
)


def _project_sources(module: str = ""):
    root = Path(settings.BASE_DIR)
    if module:
        path = root.joinpath(*module.split(".")).with_suffix(".py")
        yield from [path] if path.is_file() else []
        return
    for app in PROJECT_APPS:
        yield from sorted((root / app).rglob("*.py"))


@cache
def source_names(module: str = "") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(parameter names, header names) that the project's code reads, or the
    code of one module."""
    params, headers = set(), set()
    for path in _project_sources(module):
        text = path.read_text(encoding="utf-8")
        for match in _READ_NAME.finditer(text):
            params.add(next(group for group in match.groups() if group))
        for match in _READ_HEADER.finditer(text):
            name, meta, constant = match.groups()
            if meta:
                name = meta.replace("_", "-").title()
            headers.add(name or constant)
    headers = {name for name in headers if name.lower() not in CLIENT_HEADERS}
    return tuple(sorted(params)), tuple(sorted(headers))


def _filter_names(model_admin: ModelAdmin) -> set[str]:
    names = set()
    for entry in model_admin.list_filter:
        if isinstance(entry, str):
            paths = [entry]
        elif isinstance(entry, (tuple, list)):
            paths = [entry[0]]
        else:
            paths = [getattr(entry, "parameter_name", "")]
        for path in filter(None, paths):
            names.update(path + suffix for suffix in LOOKUP_SUFFIXES)
    if model_admin.date_hierarchy:
        names.update(model_admin.date_hierarchy + s for s in LOOKUP_SUFFIXES)
    return names


@dataclass(frozen=True)
class Names:
    """The parameter names to draw for one route."""

    read: tuple[str, ...]  # what the view's module reads, by a scan of its source
    own: st.SearchStrategy[str]  # those, and its admin's filters, fields, controls
    any: st.SearchStrategy[str]  # own names first, then any name at all


def names_for(route: Route) -> Names:
    read, _ = source_names(route.module)
    own = set(read)
    if route.back_office:
        own.update(ADMIN_QUERY_NAMES + ADMIN_FORM_NAMES)
    if route.model_admin is not None:
        own.update(_filter_names(route.model_admin))
        own.update(
            f.name for f in route.model_admin.model._meta.get_fields() if f.concrete
        )
    everywhere, _ = source_names()
    own_names = st.sampled_from(sorted(own or everywhere))
    return Names(
        read=read,
        own=own_names,
        any=st.one_of(
            own_names, own_names, st.sampled_from(everywhere), st.text(max_size=12)
        ),
    )


def some_of(names: tuple[str, ...], values) -> st.SearchStrategy[dict[str, str]]:
    """Each of `names` present or not, each with a value: a view that reads one
    bad parameter among several good ones gets it often."""
    value = texts(values)
    return st.fixed_dictionaries({}, optional={name: value for name in names})


# --- values that exist ----------------------------------------------------------------


def database_values(model_classes) -> tuple[str, ...]:
    """A few primary keys, unique texts and choice values of every model: the
    ids and numbers a real URL or form carries."""
    values = set()
    for model in model_classes:
        if not model._meta.managed:
            continue  # no table (e.g. analytics.Insight, a permission holder)
        manager = model._default_manager
        values.update(str(pk) for pk in manager.order_by("pk").values_list("pk")[:3])
        for model_field in model._meta.concrete_fields:
            if model_field.choices:
                values.update(str(choice) for choice, _ in model_field.flatchoices)
            if model_field.unique and isinstance(model_field, models.CharField):
                column = model_field.name
                values.update(
                    str(v) for v in manager.values_list(column, flat=True)[:3]
                )
    return tuple(sorted(values))


# --- one request --------------------------------------------------------------------


@dataclass
class FuzzRequest:
    """What Hypothesis prints when a request answers 500: enough to replay it."""

    method: str
    path: str  # percent-encoded
    query: str  # percent-encoded
    headers: dict[str, str]
    content_type: str
    body: bytes
    user: str  # "anonymous" or a key of the logged-in clients

    def send(self, client: Client):
        return client.generic(
            self.method,
            self.path,
            data=self.body,
            content_type=self.content_type,
            headers=self.headers,
            QUERY_STRING=self.query,
        )


def _slot(regex: re.Pattern, values: tuple[str, ...]) -> st.SearchStrategy[str]:
    generated = st.from_regex(regex, fullmatch=True, alphabet=PATH_CHARACTERS)
    fits = [value for value in values if regex.fullmatch(value)]
    return st.one_of(st.sampled_from(fits), generated) if fits else generated


def paths(route: Route, values: tuple[str, ...]) -> st.SearchStrategy[str]:
    pieces = [
        st.just(part) if isinstance(part, str) else _slot(part, values)
        for part in route.parts
    ]
    return st.tuples(*pieces).map(lambda drawn: "/" + quote("".join(drawn), safe="/"))


def texts(values: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A parameter's value: a known troublemaker as often as anything else."""
    return st.one_of(
        st.sampled_from(NASTY),
        st.sampled_from(NASTY),
        st.sampled_from(NASTY),
        st.sampled_from(values),
        st.text(max_size=30),
        st.integers().map(str),
        st.decimals(allow_nan=True).map(str),
    )


def _encoded_pairs(names, values) -> st.SearchStrategy[str]:
    return st.tuples(names, texts(values)).map(
        lambda kv: (
            quote(kv[0].encode("utf-8", "surrogatepass"), safe="")
            + "="
            + quote(kv[1].encode("utf-8", "surrogatepass"), safe="")
        )
    )


def _encode_form(data: dict[str, str]) -> str:
    return "&".join(
        quote(k.encode("utf-8", "surrogatepass"), safe="")
        + "="
        + quote(v.encode("utf-8", "surrogatepass"), safe="")
        for k, v in data.items()
    )


def query_strings(names: Names, values) -> st.SearchStrategy[str]:
    """Names the view reads, some of them at once; or one to three names the
    view knows (an admin list refuses the whole query for one unknown name,
    which would hide its filters); or anything, raw bytes included."""
    raw = st.binary(max_size=40).map(lambda b: quote_from_bytes(b, safe="=&"))
    anything = _encoded_pairs(names.any, values)
    known = st.lists(_encoded_pairs(names.own, values), min_size=1, max_size=3)
    read = [some_of(names.read, values).map(_encode_form)] * 2 if names.read else []
    return st.one_of(
        *read,
        known.map("&".join),
        st.lists(st.one_of(anything, anything, anything, raw), max_size=5).map(
            "&".join
        ),
    )


def _latin(values) -> tuple[str, ...]:
    return tuple(v for v in values if all(c == "\t" or " " <= c <= "\xff" for c in v))


def header_values(values) -> st.SearchStrategy[str]:
    """What a server hands Django: latin-1 text (the bytes of "é" in UTF-8 too)."""
    troublemakers = st.sampled_from(
        _latin(NASTY) + tuple(v.encode().decode("latin-1") for v in NASTY)
    )
    return st.one_of(
        troublemakers,
        troublemakers,
        st.sampled_from(_latin(values)),
        st.text(alphabet=HEADER_CHARACTERS, max_size=40),
    )


def header_sets(header_names, values) -> st.SearchStrategy[dict[str, str]]:
    """Any of the headers the project reads (each present or not, so a view that
    wants several at once gets them together), plus a few others."""
    value = header_values(values)
    known = st.fixed_dictionaries(
        {}, optional={name: value for name in header_names if name}
    )
    name = st.one_of(
        st.sampled_from(COMMON_HEADERS),
        st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True),
    ).filter(lambda n: n.lower() not in CLIENT_HEADERS)
    others = st.dictionaries(name, value, max_size=3)
    return st.tuples(known, others).map(lambda drawn: {**drawn[1], **drawn[0]})


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def bodies(names: Names, values) -> st.SearchStrategy[tuple[str, bytes]]:
    """(content type, body): empty, a form, a multipart form with a file, JSON,
    or any bytes under any content type."""
    form = st.one_of(
        some_of(names.read, values),
        st.dictionaries(names.any, texts(values), max_size=6),
    )
    json_object = st.dictionaries(
        names.any, st.one_of(texts(values), JSON_VALUES), max_size=6
    )
    upload = st.tuples(
        st.sampled_from(("codes.csv", "codes.txt", "codes.tsv", "p.xlsx", "x")),
        st.binary(max_size=200),
    )
    return st.one_of(
        st.just(("application/octet-stream", b"")),
        form.map(
            lambda data: (
                "application/x-www-form-urlencoded",
                _encode_form(data).encode("ascii"),
            )
        ),
        st.tuples(form, upload).map(_multipart),
        json_object.map(lambda data: ("application/json", _json_bytes(data))),
        JSON_VALUES.map(lambda data: ("application/json", _json_bytes(data))),
        st.tuples(st.sampled_from(CONTENT_TYPES), st.binary(max_size=200)),
    )


def _json_bytes(data) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")


class _Upload:
    """A file for encode_multipart: a name and bytes."""

    def __init__(self, name: str, content: bytes):
        self.name, self._content = name, content

    def read(self) -> bytes:
        return self._content


def _multipart(drawn) -> tuple[str, bytes]:
    form, (file_name, content) = drawn
    data = {k: v.encode("utf-8", "surrogatepass") for k, v in form.items()}
    data["file"] = _Upload(file_name, content)
    return MULTIPART_CONTENT, encode_multipart(BOUNDARY, data)


@cache
def requests(
    route: Route, values: tuple[str, ...], users: tuple[str, ...]
) -> st.SearchStrategy[FuzzRequest]:
    names = names_for(route)
    _, header_names = source_names()
    return st.builds(
        _request,
        method=st.sampled_from(METHODS),
        path=paths(route, values),
        query=query_strings(names, values),
        headers=header_sets(header_names, values),
        typed_body=bodies(names, values),
        user=st.sampled_from(users),
    )


def _request(*, method, path, query, headers, typed_body, user) -> FuzzRequest:
    content_type, body = typed_body
    return FuzzRequest(
        method=method,
        path=path,
        query=query,
        headers=headers,
        content_type=content_type,
        body=body,
        user=user,
    )
