"""The automatic roster builder's core: plain data in, plain data out, no ORM.

Importing it needs OR-Tools but not Django. The Django side flattens a roster into an
instance (see `scheduling.solver.instance` for the format), calls `solve`, and saves the
proposed assignments through the rule layer; `check_solution` holds any result to the same
hard rules independently of the CP-SAT model.

    solve(instance, *, mode=None, spread_tolerance=12.0, time_limit=10.0, seed=0,
          num_workers=2, progress=None) -> dict
    solve_options(instance, *, spread_tolerance=12.0, time_limit=10.0, seed=0,
                  num_workers=2, progress=None) -> dict
    solve_greedy(instance) -> dict
    check_solution(instance, assignments, *, ignore_fixed=False) -> list[Violation]
    render_reason(unfilled_entry, *, gettext=None, ngettext=None) -> str
    render_change(change_entry, *, gettext=None) -> str
    render_note(options_note, *, gettext=None) -> str
    parse_instance(data) -> Instance          (raises InstanceError naming the field)
    load_instance(json_text) -> Instance

`instance` may be an `Instance` or the decoded JSON dict. The result:

    {"assignments": [{"shift", "volunteer", "role", "fixed"}],   # fixed ones included
     "unfilled": [{"shift", "role", "count", "crisis_trained", "reason_code", "counts",
                   "candidates", "starts_at", "ends_at", "reason"}],
     "changes": [{"kind": "added"|"removed", "shift", "volunteer", "name", "role",
                  "starts_at", "ends_at", "reason_code", "cause", "reason", ...}],
                                                   # only with `previous`; see diff.py
     "metrics": {"mode", "unfilled_seats", "spread_hours", "spread_floor_hours",
                 "preferred", "undesired", "changes", "moved_volunteers", "seconds", ...}}

`mode` is ``repair`` (default with `previous`: coverage, then the fewest changes with the
hours spread within `spread_tolerance` hours of its floor, then fairness and preferences)
or ``fairest`` (coverage, fairness, preferences, then the fewest changes).

`unfilled` has one entry per shift and role with empty seats, and a second one for a
counsellor seat that stays empty because it needs crisis training (``crisis_trained:
true``). `reason` is the English sentence; render it in the user's language with
`render_reason(entry, gettext=gettext, ngettext=ngettext)`. `starts_at`/`ends_at` are
the shift's local times (ISO 8601 with offset).
"""

from scheduling.solver.check import Violation, check_solution
from scheduling.solver.cpsat import (
    DEFAULT_SPREAD_TOLERANCE,
    FAIREST,
    MODES,
    REPAIR,
    solve,
    solve_greedy,
)
from scheduling.solver.diff import by_volunteer, render_change
from scheduling.solver.explain import render_reason
from scheduling.solver.instance import (
    ROLES,
    AssignmentRef,
    Busy,
    Instance,
    InstanceError,
    Shift,
    Volunteer,
    load_instance,
    parse_instance,
)
from scheduling.solver.options import render_note, solve_options

__all__ = [
    "DEFAULT_SPREAD_TOLERANCE",
    "FAIREST",
    "MODES",
    "REPAIR",
    "ROLES",
    "AssignmentRef",
    "Busy",
    "Instance",
    "InstanceError",
    "Shift",
    "Violation",
    "Volunteer",
    "by_volunteer",
    "check_solution",
    "load_instance",
    "parse_instance",
    "render_change",
    "render_note",
    "render_reason",
    "solve",
    "solve_greedy",
    "solve_options",
]
