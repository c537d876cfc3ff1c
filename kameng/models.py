"""The audit trail: who changed what in the back office, and the seals that make
every append-only record of the shop tamper-evident.

AuditEntry rows are written by kameng.audit.record (admin saves, deletes and
actions through kameng.admin_base; services acting for staff). AuditSeal rows are
written only by kameng.sealing: each one fixes the digest of one row of a sealed
table (this log, the admin's own log, code reveals, price history, order
timelines, wallet ledgers) into one keyed hash chain. See docs/architecture.md,
"Audit trail".
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One change made by a person (or the system for one): never updated or
    deleted (on PostgreSQL a trigger refuses both)."""

    created_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # an account that acted is deactivated, not deleted
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    # The username at the time: the account may be renamed later.
    actor_name = models.CharField(_("account name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=40)
    content_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("object type"),
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["actor", "-id"], name="kameng_audit_actor_idx"),
            models.Index(fields=["action", "-id"], name="kameng_audit_action_idx"),
            models.Index(
                fields=["content_type", "object_id", "-id"],
                name="kameng_audit_object_idx",
            ),
            models.Index(fields=["created_at"], name="kameng_audit_created_idx"),
        ]

    def __str__(self):
        return f"{self.actor_name or '-'} {self.action} {self.object_repr}"


class AuditSeal(models.Model):
    """One sealed row: its digest, chained to the seal before it.

    `position` is the place in the chain (1, 2, 3, ... without gaps) and is part
    of the hash, so a seal moved, removed or edited breaks the chain there."""

    position = models.BigIntegerField(_("position"), unique=True)
    table = models.CharField(_("table"), max_length=100)  # model label, lower case
    row_id = models.BigIntegerField(_("row"))
    digest = models.CharField(_("row digest"), max_length=64)
    previous_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)
    sealed_at = models.DateTimeField(_("sealed at"), default=timezone.now)

    class Meta:
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")
        constraints = [
            models.UniqueConstraint(
                fields=["table", "row_id"], name="kameng_auditseal_row_uniq"
            ),
        ]

    def __str__(self):
        return f"#{self.position} {self.table}:{self.row_id}"


class AuditChainHead(models.Model):
    """The one row the sealer locks: where the chain ends. A removed tail of
    seals no longer matches it."""

    last_position = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")

    def __str__(self):
        return f"#{self.last_position}"


class AuditSealCursor(models.Model):
    """Per sealed table, how far back the sealer still looks.

    Rows with an id at or below `floor` are sealed (or were left unsealed past
    the grace period, which verify_audit reports). `mark_row_id` is the highest
    sealed id at `mark_at`; once AUDIT_SEAL_GRACE_SECONDS have passed, it becomes
    the floor: a transaction holding a lower id has had that long to commit."""

    table = models.CharField(max_length=100, unique=True)
    floor = models.BigIntegerField(default=0)
    mark_row_id = models.BigIntegerField(default=0)
    mark_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("audit seal cursor")
        verbose_name_plural = _("audit seal cursors")

    def __str__(self):
        return f"{self.table} ≤ {self.floor}"


class AuditVerification(models.Model):
    """The result of one verify_audit run; the back office warns the super
    admin while the latest one found problems."""

    ran_at = models.DateTimeField(_("ran at"), default=timezone.now)
    seals_checked = models.BigIntegerField(_("seals checked"), default=0)
    problems = models.JSONField(_("problems"), default=list, blank=True)

    class Meta:
        verbose_name = _("audit verification")
        verbose_name_plural = _("audit verifications")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.ran_at:%Y-%m-%d %H:%M} ({len(self.problems)})"


class ModuleSwitch(models.Model):
    """Whether an optional module (kameng.modules) is on. No row means on: a
    module registered by a later release starts switched on."""

    code = models.CharField(_("module"), max_length=40, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("module switch")
        verbose_name_plural = _("module switches")
        permissions = [("switch_modules", _("Can switch optional modules on and off"))]

    def __str__(self):
        return self.code
