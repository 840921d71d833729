"""Why a seat stays empty, in a coordinator's words.

For each unfilled seat of the final roster, every volunteer who holds the role is put in
exactly one bucket: the first rule, in the order below, that keeps them off the seat given
everything else on the roster (fixed assignments and time elsewhere included). The counts
are data (`reason_code`, `counts`); `render_reason` turns them into a sentence through a
gettext-like callable, so the Django side can pass `gettext` and `ngettext` and get it in
the user's language. All sentences live in `render_reason`, nowhere else.

Buckets, in order: ``unavailable``, ``same_shift`` (already on this shift in another
role), ``overlap``, ``rest``, ``weekly_limit``, ``free`` (nothing stops them: only when
the time limit cut the search short; the final top-up pass normally leaves none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from scheduling.solver.facts import OVERLAP, REST, UNAVAILABLE, WEEKLY_LIMIT
from scheduling.solver.greedy import RosterState
from scheduling.solver.instance import COUNSELLOR, FAMILY_EDUCATOR, ROLES, SUPERVISOR

SAME_SHIFT = "same_shift"
FREE = "free"
BUCKETS = (UNAVAILABLE, SAME_SHIFT, OVERLAP, REST, WEEKLY_LIMIT, FREE)

# reason_code values, besides the bucket names (used when one bucket holds everyone
# who is available):
NO_ROLE_HOLDER = "no_role_holder"  # nobody on the roster holds the role
NO_CRISIS_TRAINED = "no_crisis_trained"  # no crisis-trained counsellor is available
CRISIS_BLOCKED = "crisis_blocked"  # crisis-trained ones are available but all blocked
NONE_AVAILABLE = "none_available"  # role holders exist, none is available then
MIXED = "mixed"


def _bucket(state: RosterState, v: int, s: int) -> str:
    f = state.facts
    if not f.is_available(v, s):
        return UNAVAILABLE
    if s in state.shifts_of[v]:
        return SAME_SHIFT
    codes = {f.clash.get((v, s)), state.clash(v, s)}
    if OVERLAP in codes:
        return OVERLAP
    if REST in codes:
        return REST
    week = f.week[s]
    if state.in_week[(v, week)] >= f.week_cap(v, week):
        return WEEKLY_LIMIT
    return FREE


def _entry(
    state: RosterState, s: int, role: str, count: int, candidates: list[int], *, crisis: bool
) -> dict[str, Any]:
    f = state.facts
    counts = dict.fromkeys(BUCKETS, 0)
    for v in candidates:
        counts[_bucket(state, v, s)] += 1
    counts = {k: n for k, n in counts.items() if n}
    available = len(candidates) - counts.get(UNAVAILABLE, 0)
    blocking = [k for k in counts if k != UNAVAILABLE]
    if crisis:
        code = NO_CRISIS_TRAINED if available == 0 else CRISIS_BLOCKED
    elif not candidates:
        code = NO_ROLE_HOLDER
    elif available == 0:
        code = NONE_AVAILABLE
    elif len(blocking) == 1 and blocking[0] != FREE:
        code = blocking[0]
    else:
        code = MIXED
    shift = f.shifts[s]
    entry = {
        "shift": shift.id,
        "role": role,
        "count": count,
        "crisis_trained": crisis,
        "reason_code": code,
        "counts": counts,
        "candidates": len(candidates),
        "starts_at": shift.starts_at.astimezone(f.tz).isoformat(),
        "ends_at": shift.ends_at.astimezone(f.tz).isoformat(),
    }
    entry["reason"] = render_reason(entry)
    return entry


def unfilled(state: RosterState) -> list[dict[str, Any]]:
    """The empty seats of the roster in `state`, each with its reason (time order)."""
    f = state.facts
    holders = {r: [v for v, vol in enumerate(f.volunteers) if r in vol.roles] for r in ROLES}
    on_shift: dict[int, dict[int, str]] = {}
    for v, s, r in f.assigned(state.chosen):
        on_shift.setdefault(s, {})[v] = r
    entries = []
    for s in f.order:
        shift = f.shifts[s]
        here = on_shift.get(s, {})
        for r in ROLES:
            required = shift.required(r)
            if not required:
                continue
            filled = sum(1 for role in here.values() if role == r)
            missing = max(0, required - filled)
            if not missing:
                continue
            others = [v for v in holders[r] if here.get(v) != r]
            crisis_missing = 0
            if r == COUNSELLOR:
                trained = sum(
                    1 for v, role in here.items() if role == r and f.volunteers[v].crisis_trained
                )
                crisis_missing = min(missing, max(0, shift.crisis_trained_required - trained))
            if crisis_missing:
                pool = [v for v in others if f.volunteers[v].crisis_trained]
                entries.append(_entry(state, s, r, crisis_missing, pool, crisis=True))
            if missing - crisis_missing:
                entries.append(_entry(state, s, r, missing - crisis_missing, others, crisis=False))
    return entries


def _identity(message: str) -> str:
    return message


def _english_plural(gettext: Callable[[str], str], singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def render_reason(
    entry: Mapping[str, Any],
    *,
    gettext: Callable[[str], str] | None = None,
    ngettext: Callable[[str, str, int], str] | None = None,
) -> str:
    """The sentence for one `unfilled` entry, through `gettext`/`ngettext` if given.

    With only `gettext`, plurals are picked by English rules before translation. Every
    message uses named %-placeholders so translators can reorder them.
    """
    # The calls below are literally `_(...)` and `ngettext(...)` so that Django's
    # makemessages (xgettext) extracts every sentence into the catalogue.
    _ = gettext or _identity
    ngettext = ngettext or partial(_english_plural, _)

    def role_label(role: str, n: int) -> str:
        if role == COUNSELLOR:
            return ngettext("counsellor", "counsellors", n)
        if role == FAMILY_EDUCATOR:
            return ngettext("family-education expert", "family-education experts", n)
        if role == SUPERVISOR:
            return ngettext("supervisor", "supervisors", n)
        return role

    weekdays = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
    start = dt.datetime.fromisoformat(entry["starts_at"])
    end = dt.datetime.fromisoformat(entry["ends_at"])
    when = _("%(weekday)s %(date)s %(start)s–%(end)s") % {
        "weekday": weekdays[start.weekday()],
        "date": start.strftime("%Y-%m-%d"),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
    }
    counts: Mapping[str, int] = entry.get("counts", {})
    total = entry.get("candidates", 0)
    role = entry["role"]
    code = entry["reason_code"]

    clauses = []
    for bucket in BUCKETS:
        k = counts.get(bucket, 0)
        if not k:
            continue
        if bucket == UNAVAILABLE:
            text = ngettext("%(count)d is unavailable", "%(count)d are unavailable", k)
        elif bucket == SAME_SHIFT:
            text = ngettext(
                "%(count)d is already on this shift in another role",
                "%(count)d are already on this shift in another role",
                k,
            )
        elif bucket == OVERLAP:
            text = ngettext(
                "%(count)d is already on an overlapping shift",
                "%(count)d are already on overlapping shifts",
                k,
            )
        elif bucket == REST:
            text = ngettext(
                "%(count)d would break the minimum rest",
                "%(count)d would break the minimum rest",
                k,
            )
        elif bucket == WEEKLY_LIMIT:
            text = ngettext(
                "%(count)d reaches their weekly limit", "%(count)d reach their weekly limit", k
            )
        else:
            text = ngettext(
                "%(count)d could take it but the time limit ran out",
                "%(count)d could take it but the time limit ran out",
                k,
            )
        clauses.append(text % {"count": k})
    details = _(", ").join(clauses)

    eligible = total - counts.get(UNAVAILABLE, 0)
    params = {
        "when": when,
        "role": role_label(role, 1),
        "roles": role_label(role, eligible),
        "count": eligible,
        "total": total,
        "total_roles": role_label(role, total),
        "details": details,
    }
    if code == NO_CRISIS_TRAINED:
        message = _("%(when)s: no crisis-trained counsellor is available")
    elif code == CRISIS_BLOCKED:
        message = _("%(when)s: no crisis-trained counsellor can take it: of %(total)d, %(details)s")
    elif code == NO_ROLE_HOLDER:
        message = _("%(when)s: no volunteer holds the role %(role)s")
    elif code == NONE_AVAILABLE:
        message = _("%(when)s: no %(role)s is available")
    elif code == WEEKLY_LIMIT:
        message = ngettext(
            "%(when)s: the only eligible %(role)s reaches their weekly limit",
            "%(when)s: all %(count)d eligible %(roles)s reach their weekly limit",
            eligible,
        )
    elif code == REST:
        message = ngettext(
            "%(when)s: the only eligible %(role)s would break the minimum rest",
            "%(when)s: all %(count)d eligible %(roles)s would break the minimum rest",
            eligible,
        )
    elif code == OVERLAP:
        message = ngettext(
            "%(when)s: the only eligible %(role)s is already on an overlapping shift",
            "%(when)s: all %(count)d eligible %(roles)s are already on overlapping shifts",
            eligible,
        )
    elif code == SAME_SHIFT:
        message = ngettext(
            "%(when)s: the only eligible %(role)s is already on this shift in another role",
            "%(when)s: all %(count)d eligible %(roles)s are already on this shift in another role",
            eligible,
        )
    else:
        message = _("%(when)s: of %(total)d %(total_roles)s, %(details)s")
    return message % params
