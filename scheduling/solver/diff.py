"""Who moved, and why: the changes of a roster against its previous version, each with a
reason a coordinator and the volunteer can read.

Every change is an assignment removed or added (a move is one of each). Reasons follow
the changes from their causes:

1. A previous assignment that no rule allows any more is *forced* off, and says which
   rule: ``time_off``, ``unavailable``, ``inactive``, ``role``, ``overlap``, ``rest``,
   ``weekly_limit``, ``same_shift`` (the volunteer is fixed on the shift in another role),
   ``fewer_seats`` (the shift needs fewer people of the role), ``crisis_seat`` (the seat
   now needs a crisis-trained counsellor).
2. Its seat is a *hole*; whoever is added to that shift and role ``cover``\\ s it, naming the
   cause ("to cover after Wang Fang's time off"). If the one who covers gave up other
   shifts, each of those is ``moved`` ("moved to cover Thu 03-06 20:00 after Wang Fang's
   time off") and is a hole in turn, and so on down the chain (each reason also keeps the
   chain's first cause, its ``root``).
3. A seat that was empty in the previous version and is filled now: ``fill_empty``.
4. What is left was changed for fairness or preferences: ``balance``, naming the other
   volunteer when one took over from another on the same seat.
5. A fixed assignment that was not in the previous version: ``fixed`` (set by hand).

Entries are data (`reason_code`, `cause`, `root`, `to`, `partner`); `render_change`
turns one into a sentence through a gettext-like callable, like `explain.render_reason`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Any

from scheduling.solver.explain import _identity
from scheduling.solver.facts import Facts
from scheduling.solver.greedy import RosterState
from scheduling.solver.instance import COUNSELLOR, ROLES

ADDED = "added"
REMOVED = "removed"

TIME_OFF = "time_off"
UNAVAILABLE = "unavailable"
INACTIVE = "inactive"
ROLE = "role"
OVERLAP = "overlap"
REST = "rest"
WEEKLY_LIMIT = "weekly_limit"
SAME_SHIFT = "same_shift"
FEWER_SEATS = "fewer_seats"
CRISIS_SEAT = "crisis_seat"
FORCED = (
    TIME_OFF,
    UNAVAILABLE,
    INACTIVE,
    ROLE,
    OVERLAP,
    REST,
    WEEKLY_LIMIT,
    SAME_SHIFT,
    FEWER_SEATS,
    CRISIS_SEAT,
)
COVER = "cover"
MOVED = "moved"
FILL_EMPTY = "fill_empty"
EMPTY = "empty"  # a cause: the seat was empty before
BALANCE = "balance"
FIXED = "fixed"

Triple = tuple[int, int, str]  # (volunteer, shift, role), positions


def _forced_code(f: Facts, v: int, s: int, r: str, fixed_on: Mapping) -> str | None:
    """The rule that keeps a previous assignment off the roster now, if one does."""
    vol, shift = f.volunteers[v], f.shifts[s]
    if not vol.active:
        return INACTIVE
    if r not in vol.roles:
        return ROLE
    if shift.id in vol.time_off:
        return TIME_OFF
    if not f.is_available(v, s):
        return UNAVAILABLE
    if (v, s) in fixed_on:
        return SAME_SHIFT
    if (v, s) in f.clash:
        return f.clash[(v, s)]
    if f.week_cap(v, f.week[s]) == 0:
        return WEEKLY_LIMIT
    if f.open_seats(s, r) == 0:
        return FEWER_SEATS
    if r == COUNSELLOR and not vol.crisis_trained and f.untrained_room(s) == 0:
        return CRISIS_SEAT
    return None


class _Differ:
    def __init__(self, state: RosterState):
        f = self.facts = state.facts
        self.current = set(f.assigned(state.chosen))
        self.position = {s: i for i, s in enumerate(f.order)}
        role_order = {r: i for i, r in enumerate(ROLES)}
        self.key = lambda t: (self.position[t[1]], role_order[t[2]], t[0])
        self.removed = sorted(f.previous - self.current, key=self.key)
        self.added = sorted(self.current - f.previous, key=self.key)
        self.reasons: dict[tuple[str, Triple], dict[str, Any]] = {}
        self.added_at: dict[tuple[int, str], list[int]] = defaultdict(list)
        for v, s, r in self.added:
            self.added_at[(s, r)].append(v)
        self.removed_of: dict[int, list[Triple]] = defaultdict(list)
        for t in self.removed:
            self.removed_of[t[0]].append(t)

    # --- bits of entries ----------------------------------------------------------------------

    def _moment(self, s: int) -> dict[str, Any]:
        shift = self.facts.shifts[s]
        tz = self.facts.tz
        moment = {
            "shift": shift.id,
            "starts_at": shift.starts_at.astimezone(tz).isoformat(),
            "ends_at": shift.ends_at.astimezone(tz).isoformat(),
        }
        if shift.hotline is not None:
            moment["hotline"] = shift.hotline
        return moment

    def _who(self, v: int) -> dict[str, Any]:
        vol = self.facts.volunteers[v]
        return {"volunteer": vol.id, "name": vol.label}

    def _cause(self, code: str, v: int | None, s: int, root: dict | None = None) -> dict:
        cause = {"code": code, **self._moment(s)}
        if v is not None:
            cause.update(self._who(v))
        if root is not None:
            cause["root"] = root
        return cause

    def _explain(self, kind: str, t: Triple, code: str, **extra: Any) -> None:
        self.reasons[(kind, t)] = {"reason_code": code, **extra}

    def _open(self, kind: str, t: Triple) -> bool:
        return (kind, t) not in self.reasons

    # --- the chains ---------------------------------------------------------------------------

    def _follow(self, holes: deque) -> None:
        """Fill holes with additions on their seat; the one who covers may open new holes."""
        while holes:
            s, r, cause = holes.popleft()
            v = self._taker(s, r)
            if v is None:
                continue  # the seat stays empty (the unfilled list says why)
            root = cause.get("root", cause)
            code = FILL_EMPTY if cause["code"] == EMPTY else COVER
            if cause["code"] == BALANCE:
                self._explain(ADDED, (v, s, r), BALANCE, partner=self._who(cause["partner"]))
            else:
                self._explain(ADDED, (v, s, r), code, cause=_public(cause))
            for gone in self._still_removed(v):
                to = self._moment(s)
                if cause["code"] == BALANCE:
                    self._explain(REMOVED, gone, BALANCE, to=to)
                    next_cause = self._cause(MOVED, v, s, root={"code": BALANCE})
                else:
                    self._explain(REMOVED, gone, MOVED, to=to, cause=_public(cause))
                    next_cause = self._cause(MOVED, v, s, root=_public(root))
                holes.append((gone[1], gone[2], next_cause))

    def _taker(self, s: int, r: str) -> int | None:
        """Who of those added to this seat takes a hole there: someone free to take it
        outright first (the shortest chain), then instance order."""
        waiting = [v for v in self.added_at[(s, r)] if self._open(ADDED, (v, s, r))]
        waiting.sort(key=lambda v: bool(self._still_removed(v)))
        return waiting[0] if waiting else None

    def _still_removed(self, v: int) -> list[Triple]:
        return [t for t in self.removed_of.get(v, ()) if self._open(REMOVED, t)]

    def entries(self) -> list[dict[str, Any]]:
        f = self.facts
        fixed_on = defaultdict(dict)
        for s, v, r in f.fixed:
            fixed_on[(v, s)] = r
        holes: deque = deque()
        # 1. Forced off by a rule.
        per_seat_previous: dict[tuple[int, str], int] = defaultdict(int)
        for _v, s, r in f.previous:
            per_seat_previous[(s, r)] += 1
        for t in self.removed:
            v, s, r = t
            code = _forced_code(f, v, s, r, fixed_on)
            if code is None:
                continue
            self._explain(REMOVED, t, code, cause=_public(self._cause(code, v, s)))
            if code != FEWER_SEATS:
                holes.append((s, r, self._cause(code, v, s)))
        # More previous assignments on a seat than it has now: the excess is forced too.
        for (s, r), count in per_seat_previous.items():
            excess = count - f.shifts[s].required(r)
            for t in [t for t in self.removed if (t[1], t[2]) == (s, r)]:
                if excess <= 0:
                    break
                if self._open(REMOVED, t):
                    cause = self._cause(FEWER_SEATS, t[0], s)
                    self._explain(REMOVED, t, FEWER_SEATS, cause=_public(cause))
                    excess -= 1
        self._follow(holes)
        # 2. Seats that were empty before (a fixed assignment new since then fills one).
        fixed = {(v, s, r) for s, v, r in f.fixed}
        for _v, s, r in fixed - f.previous:
            per_seat_previous[(s, r)] += 1
        for s in f.order:
            for r in ROLES:
                required = f.shifts[s].required(r)
                before = per_seat_previous.get((s, r), 0)
                for _ in range(max(0, required - before)):
                    holes.append((s, r, self._cause(EMPTY, None, s)))
        self._follow(holes)
        # 3. Fixed by hand (not in the previous version).
        for t in self.added:
            if t in fixed and self._open(ADDED, t):
                self._explain(ADDED, t, FIXED)
        # 4. The rest: for the balance of the roster.
        for t in self.removed:
            if self._open(REMOVED, t):
                v, s, r = t
                taker = self._taker(s, r)
                if taker is not None:
                    self._explain(REMOVED, t, BALANCE, partner=self._who(taker))
                else:
                    self._explain(REMOVED, t, BALANCE)
                cause = {"code": BALANCE, "partner": v}
                self._follow(deque([(s, r, cause)]))
        for t in self.added:
            if self._open(ADDED, t):
                self._explain(ADDED, t, BALANCE)

        out = []
        for kind, triples in ((REMOVED, self.removed), (ADDED, self.added)):
            for t in triples:
                v, s, r = t
                entry = {
                    "kind": kind,
                    **self._who(v),
                    "role": r,
                    **self._moment(s),
                    **self.reasons[(kind, t)],
                }
                entry["reason"] = render_change(entry)
                out.append(entry)
        out.sort(key=lambda e: (e["starts_at"], e["kind"] == ADDED, str(e["volunteer"])))
        return out


def _public(cause: Mapping) -> dict:
    """A cause as it goes into an entry (no positions, only ids and times)."""
    return {k: v for k, v in cause.items() if k != "partner"}


def changes(state: RosterState) -> list[dict[str, Any]]:
    """Every change of the roster in `state` against the instance's `previous`, with its
    reason (time order; removals before additions on one shift). Empty without previous."""
    if not state.facts.previous:
        return []
    return _Differ(state).entries()


def by_volunteer(entries: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The changes grouped per volunteer: [{"volunteer", "name", "added", "removed"}]."""
    grouped: dict[Any, dict[str, Any]] = {}
    for e in entries:
        row = grouped.setdefault(
            e["volunteer"],
            {"volunteer": e["volunteer"], "name": e.get("name"), "added": [], "removed": []},
        )
        row[e["kind"]].append(e)
    return list(grouped.values())


# --- sentences ---------------------------------------------------------------------------------


def render_change(
    entry: Mapping[str, Any],
    *,
    gettext: Callable[[str], str] | None = None,
    ngettext: Callable[[str, str, int], str] | None = None,  # unused: as render_reason
) -> str:
    """The reason for one change as a sentence, through `gettext` if given."""
    # Literally `_(...)` so that makemessages extracts each sentence.
    _ = gettext or _identity

    def when(moment: Mapping[str, Any]) -> str:
        start = dt.datetime.fromisoformat(moment["starts_at"])
        weekdays = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
        return _("%(weekday)s %(month)s-%(day)s %(time)s") % {
            "weekday": weekdays[start.weekday()],
            "month": f"{start.month:02d}",
            "day": f"{start.day:02d}",
            "time": start.strftime("%H:%M"),
        }

    def forced(code: str, cause: Mapping[str, Any]) -> str:
        params = {"name": cause.get("name", ""), "when": when(cause)}
        if code == TIME_OFF:
            return _("%(name)s has time off at %(when)s") % params
        if code == UNAVAILABLE:
            return _("%(name)s is no longer available at %(when)s") % params
        if code == INACTIVE:
            return _("%(name)s is no longer an active volunteer") % params
        if code == ROLE:
            return _("%(name)s no longer holds this role") % params
        if code == OVERLAP:
            return _("%(name)s has an overlapping shift elsewhere") % params
        if code == REST:
            return _("%(name)s needs rest after another shift") % params
        if code == WEEKLY_LIMIT:
            return _("%(name)s has reached their weekly limit elsewhere") % params
        if code == SAME_SHIFT:
            return _("%(name)s has another role on this shift") % params
        if code == FEWER_SEATS:
            return _("the shift at %(when)s needs fewer people") % params
        return _("the seat at %(when)s needs a crisis-trained counsellor") % params

    def cause_words(cause: Mapping[str, Any]) -> str:
        code = cause["code"]
        params = {"name": cause.get("name", ""), "when": when(cause)}
        if code == TIME_OFF:
            text = _("%(name)s's time off") % params
        elif code == UNAVAILABLE:
            text = _("%(name)s's change of availability") % params
        elif code == INACTIVE:
            text = _("%(name)s left the hotline") % params
        elif code == ROLE:
            text = _("%(name)s's change of roles") % params
        elif code in (OVERLAP, REST, WEEKLY_LIMIT, SAME_SHIFT):
            text = _("%(name)s's other shifts") % params
        elif code == CRISIS_SEAT:
            text = _("the seat at %(when)s now needs crisis training") % params
        elif code == MOVED:
            text = _("%(name)s moved to %(when)s") % params
        else:
            text = _("a change at %(when)s") % params
        root = cause.get("root")
        if root and root.get("code") not in (None, BALANCE, EMPTY) and root is not cause:
            text = _("%(cause)s (%(root)s)") % {"cause": text, "root": cause_words(root)}
        return text

    code = entry["reason_code"]
    if code in FORCED:
        return forced(code, entry.get("cause") or entry)
    if code == COVER:
        return _("to cover after %(cause)s") % {"cause": cause_words(entry["cause"])}
    if code == FILL_EMPTY:
        return _("fills an empty seat")
    if code == MOVED:
        cause = entry["cause"]
        if cause["code"] == EMPTY:
            return _("moved to fill an empty seat at %(when)s") % {"when": when(entry["to"])}
        return _("moved to cover %(when)s after %(cause)s") % {
            "when": when(entry["to"]),
            "cause": cause_words(cause),
        }
    if code == FIXED:
        return _("set by hand")
    partner = entry.get("partner")
    to = entry.get("to")
    if entry["kind"] == REMOVED:
        if partner:
            return _("handed to %(name)s to balance the load") % {"name": partner["name"]}
        if to:
            return _("moved to %(when)s to balance the load") % {"when": when(to)}
        return _("removed to balance the load")
    if partner:
        return _("taken over from %(name)s to balance the load") % {"name": partner["name"]}
    return _("added to balance the load")
