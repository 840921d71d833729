"""Which hotlines a statistics request covers, and in which time zone its days are counted.

Every figure is counted over a set of hotlines: the calls, reports and escalations on them and
the shifts of their published rosters. A scope is one hotline, one organisation (with its
child organisations), or everything the user may see (`access.managed_hotlines_q`).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet

from hotline import access
from hotline.models import Hotline, Organisation
from hotline.people.selectors import organisation_subtree_ids


def organisation_hotlines(organisation: Organisation) -> QuerySet[Hotline]:
    """The hotlines an organisation's statistics cover: the one place that maps an
    organisation to hotlines. Those the organisation runs and those its branches (and their
    branches) run (`Hotline.organisation`, `Organisation.parent`)."""
    return Hotline.objects.filter(
        organisation_id__in=sorted(organisation_subtree_ids([organisation]))
    )


def visible_hotlines(user) -> QuerySet[Hotline]:
    """Hotlines whose statistics `user` may read (coordinators: those they manage)."""
    return Hotline.objects.filter(access.managed_hotlines_q(user))


def visible_organisations(user) -> QuerySet[Organisation]:
    return Organisation.objects.filter(access.managed_organisations_q(user))


@dataclass(frozen=True)
class Scope:
    hotline_ids: tuple[int, ...]
    time_zone: str
    hotline: Hotline | None = None
    organisation: Organisation | None = None
    names: tuple[str, ...] = field(default=())

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def label(self) -> str:
        if self.hotline is not None:
            return self.hotline.name
        if self.organisation is not None:
            return self.organisation.name
        return ", ".join(self.names)


def scope_build(
    hotlines: QuerySet[Hotline],
    *,
    hotline: Hotline | None = None,
    organisation: Organisation | None = None,
) -> Scope:
    """A scope over `hotlines` (already limited to what the user may see). Days are counted
    in the hotlines' zone when they share one, else in the site's TIME_ZONE."""
    rows = list(hotlines.order_by("name", "id").values_list("id", "name", "time_zone"))
    zones = {zone for _id, _name, zone in rows}
    return Scope(
        hotline_ids=tuple(pk for pk, _name, _zone in rows),
        time_zone=zones.pop() if len(zones) == 1 else settings.TIME_ZONE,
        hotline=hotline,
        organisation=organisation,
        names=tuple(name for _id, name, _zone in rows),
    )


def scope_for(
    hotlines: QuerySet[Hotline],
    *,
    hotline: Hotline | None = None,
    organisation: Organisation | None = None,
) -> Scope:
    """The scope of a request among `hotlines` (those the user may see): `hotline` and
    `organisation` must already be ones the user may see (params.py checks that); neither
    means all of `hotlines`."""
    if organisation is not None:
        hotlines = hotlines.filter(pk__in=organisation_hotlines(organisation).values("pk"))
    if hotline is not None:
        hotlines = hotlines.filter(pk=hotline.pk)
    return scope_build(hotlines, hotline=hotline, organisation=organisation)
