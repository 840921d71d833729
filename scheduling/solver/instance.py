"""A roster instance as plain data: the JSON format, its validation, and the dataclasses.

The format is the contract between the Django side (which flattens hotlines, rosters,
availability and time off into it) and the solver, and the input of the CLI::

    {"time_zone": "Asia/Shanghai",            # IANA; weeks, nights, weekends, messages
     "min_rest_hours": 11,
     "allow_back_to_back": false,             # optional: a gap of exactly 0 is then fine
     "shifts": [{"id", "starts_at", "ends_at",          # ISO 8601 with offset
                 "requirements": {"counsellor": 2, "family_educator": 1, "supervisor": 0},
                 "crisis_trained_required": 1,           # of the counsellors, optional
                 "weekend": true}],                      # optional: counted as a weekend
     "volunteers": [{"id", "roles": [...], "crisis_trained": false,
                     "max_shifts_per_week": 3,
                     "available": [shift ids],   # optional; missing = every shift
                     "preferred": [shift ids], "undesired": [shift ids]}],  # optional
     "fixed": [{"shift", "volunteer", "role"}],     # optional: kept as given
     "previous": [{"shift", "volunteer", "role"}],  # optional: last published version
     "busy": [{"volunteer", "starts_at", "ends_at", "same_hotline": false}]}  # optional

Optional additions (all backwards compatible):

- ``hotlines: [{"id", "min_rest_hours", "allow_back_to_back"}]`` and ``shifts[i].hotline``:
  several hotlines in one instance sharing one pool of volunteers (a province's city lines).
  A shift names its hotline; a hotline's rest and back-to-back settings default to the
  instance's. Overlap, rest and the weekly limit count across every hotline; rest between
  shifts of two hotlines is the longer of their two rests (so the rule layer accepts the
  pair whichever is saved first) and back-to-back is only ever allowed within one hotline.
  Weeks, nights and weekends follow the instance's `time_zone` for every hotline.
- ``volunteers[i].name``: how reasons for changes name the volunteer (default: the id).
- ``volunteers[i].time_off``: shift ids the volunteer has declared time off for; they are
  unavailable for them whatever `available` says, and a change they cause is explained as
  time off rather than as changed availability.
- ``volunteers[i].active``: false for someone who left; they keep `fixed` assignments but
  take no new seat, and their `previous` ones are moved ("left the hotline").
- ``busy[i].hotline``: the hotline of that outside time; back-to-back with it is then
  allowed only for shifts of the same hotline (instead of `same_hotline`).

`available` is the caller's job: weekly windows and declared time off already applied.
`fixed` are locked or published assignments the solver must keep; they are taken as they
are (a coordinator may have overridden availability) and count toward capacity, the
crisis-trained minimum, the weekly limit, rest and overlap. `busy` is time the volunteer
works elsewhere (other hotlines or rosters): it counts for overlap, rest and the weekly
limit like an assignment. Ids are strings or integers and come back unchanged.

Every error names the field it is about, e.g. ``shifts[3].ends_at: not an ISO 8601
datetime with offset``, so a coordinator or operator can find it.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

COUNSELLOR = "counsellor"
FAMILY_EDUCATOR = "family_educator"
SUPERVISOR = "supervisor"
ROLES: tuple[str, ...] = (COUNSELLOR, FAMILY_EDUCATOR, SUPERVISOR)

# Shift and volunteer ids are whatever the caller uses (database primary keys or strings)
# and come back unchanged in the result.
Id = str | int


class InstanceError(ValueError):
    """A malformed instance; `field` is a path such as ``shifts[3].ends_at``."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


@dataclass(frozen=True, slots=True)
class HotlineRules:
    id: Id
    min_rest_hours: float
    allow_back_to_back: bool = False


@dataclass(frozen=True, slots=True)
class Shift:
    id: Id
    starts_at: dt.datetime  # aware, UTC
    ends_at: dt.datetime
    requirements: Mapping[str, int]
    crisis_trained_required: int = 0
    hotline: Id | None = None  # None: the instance's only hotline
    # Counted as a weekend shift in fairness (None: Saturday or Sunday). A public holiday is
    # a weekend; a make-up working day on a Saturday or Sunday is not.
    weekend: bool | None = None

    def required(self, role: str) -> int:
        return self.requirements.get(role, 0)


@dataclass(frozen=True, slots=True)
class Volunteer:
    id: Id
    roles: frozenset[str]
    crisis_trained: bool = False
    max_shifts_per_week: int = 7
    # None: available for every shift of the instance.
    available: frozenset[Id] | None = None
    preferred: frozenset[Id] = frozenset()
    undesired: frozenset[Id] = frozenset()
    name: str | None = None
    time_off: frozenset[Id] = frozenset()
    active: bool = True

    @property
    def label(self) -> str:
        return self.name or str(self.id)


@dataclass(frozen=True, slots=True)
class AssignmentRef:
    shift: Id
    volunteer: Id
    role: str


@dataclass(frozen=True, slots=True)
class Busy:
    """Time a volunteer already works elsewhere (another hotline or roster).

    It counts for overlap, rest and the weekly limit. Back-to-back with it is allowed only
    when `same_hotline` is true and the instance allows back-to-back shifts, as in the
    rule layer.
    """

    volunteer: Id
    starts_at: dt.datetime
    ends_at: dt.datetime
    same_hotline: bool = False
    hotline: Id | None = None


@dataclass(frozen=True)
class Instance:
    time_zone: str
    min_rest_hours: float
    shifts: tuple[Shift, ...]
    volunteers: tuple[Volunteer, ...]
    allow_back_to_back: bool = False
    fixed: tuple[AssignmentRef, ...] = ()
    previous: tuple[AssignmentRef, ...] = ()
    busy: tuple[Busy, ...] = field(default=())
    hotlines: tuple[HotlineRules, ...] = ()

    @cached_property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @cached_property
    def min_rest(self) -> dt.timedelta:
        return dt.timedelta(hours=self.min_rest_hours)

    @cached_property
    def _hotline_rules(self) -> dict[Id | None, tuple[dt.timedelta, bool]]:
        rules = {None: (self.min_rest, self.allow_back_to_back)}
        for h in self.hotlines:
            rules[h.id] = (dt.timedelta(hours=h.min_rest_hours), h.allow_back_to_back)
        return rules

    def rest_of(self, hotline: Id | None) -> dt.timedelta:
        return self._hotline_rules.get(hotline, self._hotline_rules[None])[0]

    def back_to_back_of(self, hotline: Id | None) -> bool:
        return self._hotline_rules.get(hotline, self._hotline_rules[None])[1]

    @cached_property
    def longest_rest(self) -> dt.timedelta:
        return max(rest for rest, _b in self._hotline_rules.values())

    @cached_property
    def multi_hotline(self) -> bool:
        return len({s.hotline for s in self.shifts}) > 1


# --- parsing ----------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(obj: Mapping, key: str, path: str) -> Any:
    if key not in obj:
        raise InstanceError(_join(path, key), "required")
    return obj[key]


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _object(value: Any, path: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise InstanceError(path, "must be an object")
    return value


def _list(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise InstanceError(path, "must be a list")
    return value


def _id(value: Any, path: str) -> Id:
    if isinstance(value, str) and value:
        return value
    if _is_int(value):
        return value
    raise InstanceError(path, "must be a non-empty string or an integer")


def _count(value: Any, path: str) -> int:
    if not _is_int(value) or value < 0:
        raise InstanceError(path, "must be a non-negative integer")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise InstanceError(path, "must be true or false")
    return value


def _moment(value: Any, path: str) -> dt.datetime:
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            # Python subtracts two datetimes sharing a tzinfo on the wall clock; in UTC
            # that is elapsed time, which the rest and duration rules need.
            return moment.astimezone(dt.UTC)
    raise InstanceError(path, "not an ISO 8601 datetime with offset")


def _ids(value: Any, path: str, known: Mapping[Id, int]) -> frozenset[Id]:
    items = _list(value, path)
    for i, item in enumerate(items):
        item_path = _join(path, i)
        _id(item, item_path)
        if item not in known:
            raise InstanceError(item_path, f"unknown shift id {item!r}")
    return frozenset(items)


def _role(value: Any, path: str) -> str:
    if value not in ROLES:
        raise InstanceError(path, f"unknown role {value!r} (known: {', '.join(ROLES)})")
    return value


def _time_zone(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise InstanceError(path, "must be an IANA time zone name such as Asia/Shanghai")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InstanceError(path, f"unknown time zone {value!r}") from None
    return value


def _shift(raw: Any, path: str, hotline_ids: Mapping[Id, int] | None = None) -> Shift:
    obj = _object(raw, path)
    starts_at = _moment(_require(obj, "starts_at", path), _join(path, "starts_at"))
    ends_at = _moment(_require(obj, "ends_at", path), _join(path, "ends_at"))
    if ends_at <= starts_at:
        raise InstanceError(_join(path, "ends_at"), "must be after starts_at")
    req_path = _join(path, "requirements")
    requirements = {}
    for role, count in _object(_require(obj, "requirements", path), req_path).items():
        _role(role, _join(req_path, role))
        requirements[role] = _count(count, _join(req_path, role))
    crisis_path = _join(path, "crisis_trained_required")
    crisis = _count(obj.get("crisis_trained_required", 0), crisis_path)
    if crisis > requirements.get(COUNSELLOR, 0):
        raise InstanceError(crisis_path, "cannot exceed requirements.counsellor")
    hotline = None
    if obj.get("hotline") is not None:
        hotline = _hotline_ref(obj["hotline"], _join(path, "hotline"), hotline_ids)
    weekend = obj.get("weekend")
    if weekend is not None:
        weekend = _bool(weekend, _join(path, "weekend"))
    return Shift(
        id=_id(_require(obj, "id", path), _join(path, "id")),
        starts_at=starts_at,
        ends_at=ends_at,
        requirements=requirements,
        crisis_trained_required=crisis,
        hotline=hotline,
        weekend=weekend,
    )


def _hotline_ref(value: Any, path: str, hotline_ids: Mapping[Id, int] | None) -> Id:
    hotline = _id(value, path)
    if hotline_ids and hotline not in hotline_ids:
        raise InstanceError(path, f"unknown hotline id {hotline!r}")
    return hotline


def _hotline(raw: Any, path: str, *, rest: float, back_to_back: bool) -> HotlineRules:
    obj = _object(raw, path)
    rest = obj.get("min_rest_hours", rest)
    if isinstance(rest, bool) or not isinstance(rest, int | float) or not 0 <= rest <= 24 * 14:
        raise InstanceError(
            _join(path, "min_rest_hours"), "must be a number of hours from 0 to 336"
        )
    return HotlineRules(
        id=_id(_require(obj, "id", path), _join(path, "id")),
        min_rest_hours=float(rest),
        allow_back_to_back=_bool(
            obj.get("allow_back_to_back", back_to_back), _join(path, "allow_back_to_back")
        ),
    )


def _volunteer(raw: Any, path: str, shift_ids: Mapping[Id, int]) -> Volunteer:
    obj = _object(raw, path)
    roles_path = _join(path, "roles")
    roles = _list(_require(obj, "roles", path), roles_path)
    for i, role in enumerate(roles):
        _role(role, _join(roles_path, i))
    available = None
    if obj.get("available") is not None:
        available = _ids(obj["available"], _join(path, "available"), shift_ids)
    preferred = _ids(obj.get("preferred", []), _join(path, "preferred"), shift_ids)
    undesired = _ids(obj.get("undesired", []), _join(path, "undesired"), shift_ids)
    both = preferred & undesired
    if both:
        raise InstanceError(
            _join(path, "undesired"), f"shift {sorted(both, key=str)[0]!r} is also preferred"
        )
    name = obj.get("name")
    if name is not None and not isinstance(name, str):
        raise InstanceError(_join(path, "name"), "must be a string")
    time_off = _ids(obj.get("time_off", []), _join(path, "time_off"), shift_ids)
    if time_off:
        # Time off wins over availability, as in the rule layer.
        everything = frozenset(shift_ids) if available is None else available
        available = everything - time_off
    return Volunteer(
        id=_id(_require(obj, "id", path), _join(path, "id")),
        roles=frozenset(roles),
        crisis_trained=_bool(obj.get("crisis_trained", False), _join(path, "crisis_trained")),
        max_shifts_per_week=_count(
            _require(obj, "max_shifts_per_week", path), _join(path, "max_shifts_per_week")
        ),
        available=available,
        preferred=preferred,
        undesired=undesired,
        name=name or None,
        time_off=time_off,
        active=_bool(obj.get("active", True), _join(path, "active")),
    )


def _assignment_refs(
    raw: Any, path: str, shift_ids: Mapping[Id, int], volunteer_ids: Mapping[Id, int]
) -> tuple[AssignmentRef, ...]:
    refs = []
    seen: set[tuple[Id, Id]] = set()
    for i, item in enumerate(_list(raw, path)):
        item_path = _join(path, i)
        obj = _object(item, item_path)
        shift = _id(_require(obj, "shift", item_path), _join(item_path, "shift"))
        if shift not in shift_ids:
            raise InstanceError(_join(item_path, "shift"), f"unknown shift id {shift!r}")
        volunteer = _id(_require(obj, "volunteer", item_path), _join(item_path, "volunteer"))
        if volunteer not in volunteer_ids:
            raise InstanceError(
                _join(item_path, "volunteer"), f"unknown volunteer id {volunteer!r}"
            )
        role = _role(_require(obj, "role", item_path), _join(item_path, "role"))
        if (shift, volunteer) in seen:
            raise InstanceError(
                item_path, f"volunteer {volunteer!r} is listed twice on shift {shift!r}"
            )
        seen.add((shift, volunteer))
        refs.append(AssignmentRef(shift=shift, volunteer=volunteer, role=role))
    return tuple(refs)


def _busy(raw: Any, path: str, volunteer_ids: Mapping[Id, int]) -> tuple[Busy, ...]:
    entries = []
    for i, item in enumerate(_list(raw, path)):
        item_path = _join(path, i)
        obj = _object(item, item_path)
        volunteer = _id(_require(obj, "volunteer", item_path), _join(item_path, "volunteer"))
        if volunteer not in volunteer_ids:
            raise InstanceError(
                _join(item_path, "volunteer"), f"unknown volunteer id {volunteer!r}"
            )
        starts_at = _moment(_require(obj, "starts_at", item_path), _join(item_path, "starts_at"))
        ends_at = _moment(_require(obj, "ends_at", item_path), _join(item_path, "ends_at"))
        if ends_at <= starts_at:
            raise InstanceError(_join(item_path, "ends_at"), "must be after starts_at")
        same = _bool(obj.get("same_hotline", False), _join(item_path, "same_hotline"))
        # Any hotline, also one outside this instance: only equality with a shift's matters.
        hotline = None
        if obj.get("hotline") is not None:
            hotline = _id(obj["hotline"], _join(item_path, "hotline"))
        entries.append(Busy(volunteer, starts_at, ends_at, same, hotline))
    return tuple(entries)


def _unique(items: Sequence, path: str) -> dict[Id, int]:
    index: dict[Id, int] = {}
    for i, item in enumerate(items):
        if item.id in index:
            raise InstanceError(_join(_join(path, i), "id"), f"duplicate id {item.id!r}")
        index[item.id] = i
    return index


def parse_instance(data: Any) -> Instance:
    """Validate a decoded JSON instance and build an `Instance`; raises `InstanceError`."""
    obj = _object(data, "instance")
    time_zone = _time_zone(_require(obj, "time_zone", ""), "time_zone")
    rest = _require(obj, "min_rest_hours", "")
    if isinstance(rest, bool) or not isinstance(rest, int | float) or not 0 <= rest <= 24 * 14:
        raise InstanceError("min_rest_hours", "must be a number of hours from 0 to 336")
    back_to_back = _bool(obj.get("allow_back_to_back", False), "allow_back_to_back")
    hotlines = tuple(
        _hotline(raw, f"hotlines[{i}]", rest=rest, back_to_back=back_to_back)
        for i, raw in enumerate(_list(obj.get("hotlines", []), "hotlines"))
    )
    hotline_ids = _unique(hotlines, "hotlines")

    raw_shifts = _list(_require(obj, "shifts", ""), "shifts")
    shifts = tuple(_shift(raw, f"shifts[{i}]", hotline_ids) for i, raw in enumerate(raw_shifts))
    shift_ids = _unique(shifts, "shifts")
    raw_volunteers = _list(_require(obj, "volunteers", ""), "volunteers")
    volunteers = tuple(
        _volunteer(raw, f"volunteers[{i}]", shift_ids) for i, raw in enumerate(raw_volunteers)
    )
    volunteer_ids = _unique(volunteers, "volunteers")
    return Instance(
        time_zone=time_zone,
        min_rest_hours=float(rest),
        allow_back_to_back=back_to_back,
        shifts=shifts,
        volunteers=volunteers,
        fixed=_assignment_refs(obj.get("fixed", []), "fixed", shift_ids, volunteer_ids),
        previous=_assignment_refs(obj.get("previous", []), "previous", shift_ids, volunteer_ids),
        busy=_busy(obj.get("busy", []), "busy", volunteer_ids),
        hotlines=hotlines,
    )


def load_instance(text: str | bytes) -> Instance:
    """Parse instance JSON text; malformed JSON is an `InstanceError` too."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceError(
            "", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    return parse_instance(data)


def as_instance(instance: Instance | Mapping) -> Instance:
    return instance if isinstance(instance, Instance) else parse_instance(instance)
