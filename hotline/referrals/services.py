"""The referral directory's writes: check one resource, import many from CSV (with a dry
run), mark verified, and the monthly list of resources nobody verified for
RESOURCE_VERIFY_DAYS, sent to the coordinators through the outbox."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hotline import access
from hotline.crisis.audit import audit_record
from hotline.crisis.selectors import chain_tier_people
from hotline.links import site_url
from hotline.models import Resource, ResourceCategory
from hotline.referrals.selectors import resources_unverified
from hotline.sms.outbox import sms_send

PHONE = re.compile(r"^\+?[0-9][0-9 \-]{1,38}$")
CSV_COLUMNS = ("name", "category", "area", "phone", "address", "hours", "eligibility", "languages")
IMPORT_MAX_ROWS = 2000
TIER_COORDINATORS = 3


def resource_clean(data: dict) -> dict:
    """Check one resource's fields; ValidationError naming each bad field. A resource needs
    a name, a category from the list and a phone (digits, spaces, dashes, a leading +)."""
    errors: dict[str, list[str]] = {}
    out = {k: (str(data.get(k) or "")).strip() for k in CSV_COLUMNS}
    if not out["name"]:
        errors["name"] = [_("Give the resource's name.")]
    if not out["category"]:
        errors["category"] = [_("Choose a category.")]
    elif out["category"] not in ResourceCategory.values:
        errors["category"] = [_("Unknown category code.")]
    if not out["phone"]:
        errors["phone"] = [_("Give a phone number.")]
    elif not PHONE.match(out["phone"]):
        errors["phone"] = [_("A phone number has digits, spaces, dashes and a leading + only.")]
    limits = {"name": 200, "area": 100, "address": 300, "hours": 200, "languages": 100}
    for key, limit in limits.items():
        if len(out[key]) > limit:
            errors[key] = [_("At most %(n)s characters.") % {"n": limit}]
    if len(out["eligibility"]) > 2000:
        errors["eligibility"] = [_("At most %(n)s characters.") % {"n": 2000}]
    if errors:
        raise ValidationError(errors)
    return out


@dataclass
class ImportResult:
    dry_run: bool
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)  # {"row": n, "errors": {field: [..]}}

    @property
    def ok(self) -> bool:
        return not self.errors


def resources_import(*, text: str, by, dry_run: bool, now: dt.datetime) -> ImportResult:
    """Import resources from CSV text with a header row (columns CSV_COLUMNS; `name`,
    `category` and `phone` required). A row whose name, area and category match an existing
    resource updates it; others are added. All or nothing: any bad row and nothing is
    written (the errors name row and field). `dry_run` checks and counts, writes nothing."""
    if not access.is_coordinator(by):
        raise PermissionDenied(_("Only coordinators edit the directory."))
    result = ImportResult(dry_run=dry_run)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ("name", "category", "phone") if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(
            {"file": [_("Missing columns: %(cols)s.") % {"cols": ", ".join(missing)}]}
        )
    rows = []
    for number, row in enumerate(reader, start=2):  # line 1 is the header
        if number - 1 > IMPORT_MAX_ROWS:
            raise ValidationError(
                {"file": [_("At most %(n)s rows per file.") % {"n": IMPORT_MAX_ROWS}]}
            )
        try:
            rows.append(resource_clean(row))
        except ValidationError as exc:
            result.errors.append({"row": number, "errors": exc.message_dict})
    if result.errors:
        return result
    with transaction.atomic():
        for fields in rows:
            existing = Resource.objects.filter(
                name=fields["name"], area=fields["area"], category=fields["category"]
            ).first()
            if existing is None:
                result.created += 1
                if not dry_run:
                    Resource.objects.create(**fields)
            else:
                result.updated += 1
                if not dry_run:
                    for key, value in fields.items():
                        setattr(existing, key, value)
                    existing.save()
        if not dry_run:
            audit_record(
                actor=by,
                action="resources.import",
                at=now,
                detail={"created": result.created, "updated": result.updated},
            )
    return result


def resource_verify(*, resource: Resource, by, now: dt.datetime) -> Resource:
    """A coordinator checked the entry (called it, read its site): it is current."""
    if not access.is_coordinator(by):
        raise PermissionDenied(_("Only coordinators edit the directory."))
    Resource.objects.filter(pk=resource.pk).update(verified_at=now)
    resource.verified_at = now
    return resource


def resources_unverified_notify(*, now: dt.datetime | None = None) -> int:
    """The monthly job: SMS each coordinator (with a phone) how many listed resources have
    not been verified for RESOURCE_VERIFY_DAYS, naming the first few, with the page that
    lists them. Once per month and person (dedupe key). Returns how many were told."""
    now = now or timezone.now()
    stale = list(resources_unverified(now=now).order_by("verified_at", "name")[:200])
    if not stale:
        return 0
    month = now.strftime("%Y-%m")
    link = site_url(reverse("referrals:search") + "?unverified=1")
    told = 0
    for person in chain_tier_people(hotline=None, tier=TIER_COORDINATORS, at=now):
        with translation.override(person.language or settings.LANGUAGE_CODE):
            body = _(
                "Hotline Roster: %(n)s referral resources not verified for %(days)s days, e.g. %(names)s. %(link)s"
            ) % {
                "n": len(stale),
                "days": settings.RESOURCE_VERIFY_DAYS,
                "names": "; ".join(r.name for r in stale[:3]),
                "link": link,
            }
        sms_send(
            to=person.phone_number,
            body=body,
            dedupe_key=f"resources-unverified:{month}:v{person.pk}",
            purpose="resources",
        )
        told += 1
    return told
