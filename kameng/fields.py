"""Buyers' contacts encrypted at rest, found again by a keyed blind index (issue 15).

A contact column (a buyer's phone and e-mail, a guest's contact, an order's
recharge account) is an `EncryptedTextField` / `EncryptedJSONField`: the database
holds a Fernet token made with the first key of FIELD_ENCRYPTION_KEY (kameng.crypto,
the same keys and rotation as card codes); model code reads and writes plain text.
Empty stays empty (""), so "has no contact" is still a plain SQL test.

Beside it sits a `BlindIndexField` (`phone_index`, `contact_index`…) or, for a
recharge account with several values, a `BlindIndexListField`: an HMAC-SHA256 of
the *normalised* value (`normalise_contact`: outer spaces trimmed, a phone number
reduced to its digits without +86, an e-mail lower-cased) under a key derived from
CARD_HASH_KEY. The index is filled by the field's `pre_save`, so every save and
bulk_create keeps it right. Exact-match search goes through it (`contact_match`,
`account_match`): the same value typed by support, however spaced or cased, gives
the same digest. Partial (LIKE) search on an encrypted column is impossible by
design; asking the ORM for one raises FieldError instead of silently finding
nothing.

A dump of the database alone shows tokens and digests; without the keys neither
gives back a contact (the digest of a phone number could be brute-forced over the
number space only by someone who also holds CARD_HASH_KEY).

A token no configured key opens (a key dropped too early, a copied database with
other keys) reads as an `Undecryptable` marker, logged as an error, never as an
exception on every page that lists orders; saving the row writes the original
token back unchanged, so nothing is lost. `manage.py rotate_contact_key` re-encrypts
under the current key and reports what it cannot open.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
import unicodedata

from django import forms
from django.conf import settings
from django.core import validators
from django.core.exceptions import FieldError
from django.db import connection, models
from django.db.models import Q
from django.db.models.lookups import Exact, IsNull
from django.db.models.signals import pre_save
from django.utils.translation import gettext

from kameng import crypto

logger = logging.getLogger(__name__)

__all__ = [
    "BlindIndexField",
    "BlindIndexListField",
    "EncryptedEmailField",
    "EncryptedJSONField",
    "EncryptedTextField",
    "IndexedManager",
    "IndexedQuerySet",
    "Undecryptable",
    "UndecryptableDict",
    "account_match",
    "blind_index",
    "contact_match",
    "normalise_contact",
]

# What a phone number looks like when typed: digits, spaces, dashes, brackets,
# an optional leading + (the same shape kameng.masking masks as a phone).
PHONE = re.compile(r"^\+?[\d\s()-]{7,24}$")
TOKEN_PREFIX = "gAAAAA"  # every Fernet token starts so (version byte 0x80)


# Normalising and hashing ----------------------------------------------------------
def normalise_contact(value) -> str:
    """What counts as the same contact: NFKC (full-width digits), outer spaces
    trimmed; a phone number as its digits without a +86 / 0086 prefix; an
    e-mail address lower-cased; anything else (QQ, game ID) as typed."""
    text = " ".join(unicodedata.normalize("NFKC", str(value or "")).split())
    if "@" in text:
        return text.lower()
    if PHONE.match(text):
        digits = re.sub(r"\D", "", text)
        for prefix in ("0086", "86"):
            if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
                return digits[len(prefix) :]
        return digits
    return text


@functools.lru_cache(maxsize=4)
def _derived_index_key(card_hash_key: str) -> bytes:
    return hmac.new(
        card_hash_key.encode(), b"kameng contact index", hashlib.sha256
    ).digest()


def _index_key() -> bytes:
    # Derived once per CARD_HASH_KEY (keyed by its value, so a changed setting
    # takes effect at once): it was 40 % of each digest's cost, and the
    # checkout computes several.
    return _derived_index_key(settings.CARD_HASH_KEY)


def blind_index(value) -> str:
    """The keyed digest stored beside an encrypted contact ("" for no contact)."""
    text = normalise_contact(value)
    if not text:
        return ""
    return hmac.new(_index_key(), text.encode("utf-8"), hashlib.sha256).hexdigest()


def account_digests(account) -> list[str]:
    """The digests of every value of a recharge account (sorted, no repeats)."""
    if not isinstance(account, dict):
        return []
    return sorted({d for d in (blind_index(v) for v in account.values()) if d})


def contact_match(path: str, term: str) -> Q:
    """Rows whose encrypted contact at `path` ("phone", "buyer__email", "contact")
    equals `term` once both are normalised: one indexed equality."""
    digest = blind_index(term)
    if not digest:
        return Q(pk__in=[])
    return Q((f"{path}_index", digest))


def account_match(path: str, term: str) -> Q:
    """Rows whose recharge account at `path` has `term` as one of its values:
    JSON containment on PostgreSQL (GIN index), a text match on the digest list
    elsewhere (a 64-character digest cannot match by accident)."""
    digest = blind_index(term)
    if not digest:
        return Q(pk__in=[])
    if connection.vendor == "postgresql":
        return Q((f"{path}_index__contains", [digest]))
    return Q((f"{path}_index__icontains", f'"{digest}"'))


# Reading what no key opens ------------------------------------------------------
class Undecryptable(str):
    """A contact no key in FIELD_ENCRYPTION_KEY opens: reads as a marker, keeps
    the stored token so that saving the row changes nothing."""

    token: str

    def __new__(cls, token: str):
        marker = super().__new__(cls, gettext("[cannot decrypt]"))
        marker.token = token
        return marker


class UndecryptableDict(dict):
    """A recharge account no key opens: empty, keeps its token (as Undecryptable)."""

    token: str

    def __init__(self, token: str):
        super().__init__()
        self.token = token


def _open(field, token: str) -> str | None:
    try:
        return crypto.decrypt(token)
    except (crypto.InvalidToken, ValueError, UnicodeError):
        # Never the token itself in the log, and there is no plaintext to leak.
        logger.error(
            "%s.%s: no key in FIELD_ENCRYPTION_KEY opens a stored value "
            "(was an old key dropped before rotate_contact_key finished?)",
            field.model._meta.label if hasattr(field, "model") else "?",
            field.name,
        )
        return None


# Lookups: equality with "" (has no contact) and IS NULL only ---------------------
class EncryptedExact(Exact):
    """`field=""` still works (constraints, "no contact"); equality with a value
    cannot (the same text encrypts differently every time)."""

    def get_prep_lookup(self):
        empty = self.rhs is None or self.rhs == "" or self.rhs == {}
        if not empty and not hasattr(self.rhs, "resolve_expression"):
            field = self.lhs.output_field
            raise FieldError(
                f"{field.model.__name__}.{field.name} is encrypted: match it "
                f"exactly through its blind index (kameng.fields.contact_match), "
                f"never by its stored value."
            )
        return super().get_prep_lookup()


class EncryptedLookupsMixin:
    # The audit log records that the value changed, never the value
    # (kameng.audit.is_secret_field): a dump of the log reveals no contact either.
    audit_hidden = True

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return EncryptedExact
        if lookup_name == "isnull":
            return IsNull
        # contains, icontains, startswith, in, gt…: no meaning on ciphertext.
        return None

    def get_transform(self, lookup_name):
        return None


# Fields ---------------------------------------------------------------------------
class EncryptedTextField(EncryptedLookupsMixin, models.TextField):
    """Text stored as a Fernet token; reads and writes as plain text. `max_length`
    applies to the plain text (forms and validation), not to the column."""

    description = "Text encrypted at rest (Fernet)"

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        plain = _open(self, value)
        return Undecryptable(value) if plain is None else plain

    def to_python(self, value):
        if isinstance(value, Undecryptable) or value is None:
            return value
        return str(value)

    def get_prep_value(self, value):
        if isinstance(value, Undecryptable):
            return value.token
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)

    def formfield(self, **kwargs):
        # A one-line input, as the CharField it replaces (not TextField's textarea).
        return models.Field.formfield(
            self,
            **{"form_class": forms.CharField, "max_length": self.max_length, **kwargs},
        )


class EncryptedEmailField(EncryptedTextField):
    """An e-mail address, encrypted at rest; validated as an e-mail address."""

    default_validators = [validators.validate_email]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.EmailField, **kwargs})


class EncryptedJSONField(EncryptedLookupsMixin, models.TextField):
    """A small JSON object (a recharge account) stored as one Fernet token of its
    JSON text; an empty object is stored as "" and reads as {}."""

    description = "JSON encrypted at rest (Fernet)"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if not value:
            return {}
        plain = _open(self, value)
        return UndecryptableDict(value) if plain is None else json.loads(plain)

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value) if value else {}
            except ValueError as exc:
                raise forms.ValidationError(gettext("Enter valid JSON.")) from exc
        return value

    def get_prep_value(self, value):
        if isinstance(value, UndecryptableDict):
            return value.token
        if not value:
            return ""
        return crypto.encrypt(json.dumps(value, ensure_ascii=False))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)

    def formfield(self, **kwargs):
        return models.Field.formfield(self, **{"form_class": forms.JSONField, **kwargs})


_INDEXES: dict[type, list[models.Field]] = {}


class _IndexOf:
    """Shared by the index fields: which encrypted field they index, kept right
    on every save."""

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs.pop("editable", None)
        if kwargs.get("blank") is True:
            kwargs.pop("blank")
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        if not cls._meta.abstract:
            _INDEXES.setdefault(cls, []).append(self)

    def digest(self, value):
        raise NotImplementedError

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.source)
        if isinstance(value, Undecryptable | UndecryptableDict):
            return getattr(model_instance, self.attname)  # unknown: keep as stored
        digest = self.digest(value)
        setattr(model_instance, self.attname, digest)
        return digest


class BlindIndexField(_IndexOf, models.CharField):
    """HMAC of the normalised value of `source` ("" when it is empty)."""

    def __init__(self, *args, source: str, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("default", "")
        super().__init__(*args, source=source, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == 64:
            kwargs.pop("max_length")
        if kwargs.get("default") == "":
            kwargs.pop("default")
        return name, path, args, kwargs

    def digest(self, value):
        return blind_index(value)


class BlindIndexListField(_IndexOf, models.JSONField):
    """The HMACs of every value of a JSON object in `source` (a list)."""

    def __init__(self, *args, source: str, **kwargs):
        kwargs.setdefault("default", list)
        super().__init__(*args, source=source, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("default") is list:
            kwargs.pop("default")
        return name, path, args, kwargs

    def digest(self, value):
        return account_digests(value)


def refuse_stale_index(model, names, how: str) -> None:
    """A write of an encrypted column that does not also write its blind index
    (`names`: the fields it writes) would leave the index stale, and an exact
    search would miss the row: refuse it, naming both."""
    names = set(names)
    for index in _INDEXES.get(model._meta.concrete_model, ()):
        if index.source in names and index.name not in names:
            raise ValueError(
                f"{how} names {index.source!r} without {index.name!r}: name "
                f"both, or the blind index goes stale."
            )


def _index_saved_with_source(sender, instance, update_fields=None, **kwargs):
    """save(update_fields=["phone"]) would leave phone_index stale: refuse it."""
    if update_fields:
        refuse_stale_index(sender, update_fields, "save(update_fields=…)")


pre_save.connect(_index_saved_with_source, dispatch_uid="kameng.fields.blind_index")


class IndexedQuerySet(models.QuerySet):
    """The queryset of every model with an encrypted contact: `update()` and
    `bulk_update()` bypass the fields' pre_save, so one that writes a contact
    must write its index too (`update(contact=c, contact_index=blind_index(c))`),
    or it is refused, as save(update_fields=…) is. Refused rather than
    computed: an update by an expression (F, Case) cannot be digested in SQL,
    and the blacklist's digest depends on each row's kind; one rule, "write
    both", holds everywhere."""

    def update(self, **kwargs):
        refuse_stale_index(self.model, kwargs, "update()")
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        fields = list(fields)
        refuse_stale_index(self.model, fields, "bulk_update()")
        return super().bulk_update(objs, fields, batch_size=batch_size)


class IndexedManager(models.Manager.from_queryset(IndexedQuerySet)):
    """The default manager of a model with encrypted contacts (IndexedQuerySet)."""


# Whole columns at once: the data migrations and rotate_contact_key -----------------
TEXT, JSON = "text", "json"


class Column(tuple):
    """(column, index column, TEXT or JSON) of one encrypted contact column."""

    def __new__(cls, column: str, index: str, kind: str = TEXT):
        return super().__new__(cls, (column, index, kind))


def _is_token(value) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def _plain(value, kind: str):
    """A stored value as plain text / a dict, whatever state it is in."""
    if kind == JSON:
        if isinstance(value, dict):
            return value
        if not value:
            return {}
        if _is_token(value):
            return json.loads(crypto.decrypt(value))
        return json.loads(value)
    if _is_token(value):
        return crypto.decrypt(value)
    return value or ""


def _sealed(plain, kind: str) -> tuple[str, object]:
    if kind == JSON:
        token = crypto.encrypt(json.dumps(plain, ensure_ascii=False)) if plain else ""
        return token, json.dumps(account_digests(plain))
    return (crypto.encrypt(plain) if plain else ""), blind_index(plain)


def reseal_table(
    conn,
    table: str,
    columns: list[Column],
    *,
    mode: str,
    batch_size: int = 1000,
    pk: str = "id",
) -> dict[str, int]:
    """Walk `table` in primary-key batches and, per row and column:
    - "encrypt": plain text → token + index (rows already encrypted are left);
    - "decrypt": token → plain text (a JSON column back to its JSON text);
    - "rotate":  a token not made with the current key → re-encrypted;
    - "reindex": the index recomputed from the decrypted value (CARD_HASH_KEY
      changed, or the normalisation did).
    Encrypting or decrypting raises crypto.InvalidToken when no configured key
    opens a value; rotating and reindexing count it as "unreadable". Plain SQL
    with parameters only, so it runs the same on SQLite and PostgreSQL inside a
    migration (no model code) and from the command."""
    quote = conn.ops.quote_name
    jsonb = "CAST(%s AS jsonb)" if conn.vendor == "postgresql" else "%s"
    names = ", ".join(quote(column) for column, _index, _kind in columns)
    key = quote(pk)
    select = (
        f"SELECT {key}, {names} FROM {quote(table)} WHERE {key} > %s "
        f"ORDER BY {key} LIMIT %s"
    )
    counts = {"rows": 0, "changed": 0, "unreadable": 0}
    last = 0
    while True:
        with conn.cursor() as cursor:
            cursor.execute(select, [last, batch_size])
            rows = cursor.fetchall()
        if not rows:
            if conn.vendor == "postgresql" and conn.in_atomic_block:
                # Fire the deferred foreign-key checks these updates queued, so a
                # migration may ALTER the table next in the same transaction.
                with conn.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            return counts
        last = rows[-1][0]
        counts["rows"] += len(rows)
        for position, (column, index, kind) in enumerate(columns, start=1):
            updates = []
            for row in rows:
                try:
                    new = _reseal_value(row[position], kind, mode)
                except crypto.InvalidToken:
                    if mode in ("encrypt", "decrypt"):
                        raise  # a migration stops rather than half-converts
                    counts["unreadable"] += 1
                    continue
                if new is not None:
                    updates.append((*new, row[0]))
            if not updates:
                continue
            counts["changed"] += len(updates)
            if mode == "decrypt":
                sql = f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {key} = %s"
                params = [(value, pk) for value, _index, pk in updates]
            else:
                index_value = jsonb if kind == JSON else "%s"
                sql = (
                    f"UPDATE {quote(table)} SET {quote(column)} = %s, "
                    f"{quote(index)} = {index_value} WHERE {key} = %s"
                )
                params = updates
            with conn.cursor() as cursor:
                cursor.executemany(sql, params)


def _reseal_value(value, kind: str, mode: str):
    """(new stored value, new index) for one value, or None to leave it."""
    if mode == "encrypt":
        if _is_token(value):
            return None
        return _sealed(_plain(value, kind), kind)
    if mode == "decrypt":
        plain = _plain(value, kind)
        if kind == JSON:
            return json.dumps(plain, ensure_ascii=False), None
        return plain, None
    if not _is_token(value):
        return None  # empty: nothing to rotate or index
    if mode == "rotate":
        if crypto.made_with_current_key(value):
            return None
        token = crypto.rotate(value)
        plain = _plain(token, kind)
        return token, _sealed(plain, kind)[1]
    if mode == "reindex":
        plain = _plain(value, kind)
        return value, _sealed(plain, kind)[1]
    raise ValueError(mode)


# Rotation -------------------------------------------------------------------------
def encrypted_columns(app_models) -> list[tuple[type[models.Model], list[Column]]]:
    """Every concrete model of `app_models` with encrypted contact columns, and
    those columns with their blind index (rotate_contact_key)."""
    found = []
    for model in app_models:
        if model._meta.proxy or not model._meta.managed:
            continue
        indexes = {
            f.source: f.column
            for f in model._meta.local_concrete_fields
            if isinstance(f, _IndexOf)
        }
        columns = [
            Column(
                f.column,
                indexes[f.name],
                JSON if isinstance(f, EncryptedJSONField) else TEXT,
            )
            for f in model._meta.local_concrete_fields
            if isinstance(f, EncryptedTextField | EncryptedJSONField)
            and f.name in indexes
        ]
        if columns:
            found.append((model, columns))
    return found
