"""`make mutants`: mutation testing of the modules where a silent bug hurts most, each with
the fast subset of tests that covers it (see docs/testing.md).

    .venv/bin/python bin/mutants.py                  # every module, one after the other
    .venv/bin/python bin/mutants.py rules feeds      # some of them
    .venv/bin/python bin/mutants.py --list           # the modules and their tests
    .venv/bin/python bin/mutants.py --resume feeds   # go on where a time limit stopped it
    .venv/bin/python bin/mutants.py --recheck feeds  # only the last run's survivors, new tests
    MUTANTS_JOBS=2 MUTANTS_TIMEOUT=1800 ...          # workers per module, seconds per module
    MUTANTS_ONLY="scheduling.feeds.builder.x_open_slots*" ... feeds   # some functions only

Each module runs in its own scratch copy of the project (var/mutants/<name>/), so the working
tree is never mutated and two modules never share mutmut's state. mutmut writes the mutants
of one file, runs the chosen tests once to learn which test reaches which function, then
runs each mutant (in a process forked from the warm one) against only the tests that reach
the mutated function. Prints the score per module and every surviving mutant, and writes
them to var/mutants/<module>-report.txt; the status of every mutant goes to
var/mutants/<module>.json, which `--recheck` starts from.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutants"
COPY = ["hotline", "scheduling", "api", "config", "tests", "templates", "locale", "static"]
FILES = ["manage.py"]

# The scratch copy's root conftest.py. mutmut runs every mutant in a process forked from the
# one that ran the tests once; without this, each mutant's pytest session would build the
# in-memory test database again, running every migration (~10 s of CPU on this machine, far
# more than the tests themselves, and enough under load to pass the mutant's time limit and
# be miscounted as killed). The database is built once, in the first session, and never torn
# down: a forked mutant inherits a copy of it (an in-memory SQLite database is the process's
# memory), so mutants still cannot see each other's rows. Each session leaves the database as
# it found it: ordinary tests roll back, and the seed rows a transactional test's flush took
# are written back at the end of the session (tests/conftest.py does it between tests only).
# Measured: a mutant whose one test takes 0.1 s cost 1.1 s of CPU before, 0.3 s with this.
CONFTEST = """\
import _pytest.unraisableexception
import pytest
from django.test import utils

# pytest runs gc.collect() five times as each session ends, to report unraisable exceptions:
# a third of a mutant's time, in a forked child whose every page the collector then copies.
_pytest.unraisableexception.gc_collect_harder = lambda iterations: None

# On a module every session shares: pytest imports this conftest afresh for each session.
utils.mutants_db_built = getattr(utils, "mutants_db_built", False)


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    if not utils.mutants_db_built:
        with django_db_blocker.unblock():
            utils.setup_databases(verbosity=0, interactive=False)
        utils.mutants_db_built = True
    yield


@pytest.fixture(scope="session", autouse=True)
def _plans_built_afresh():
    # The incoming call's SQL is built once per process and kept (_CALL_INSERT_PLANS,
    # _HOTLINE_OPEN_PLANS): a mutant's session, forked from one that built them already,
    # would never run the mutated builder. Each session builds them again.
    from hotline.calls import selectors, services

    services._CALL_INSERT_PLANS.clear()
    selectors._HOTLINE_OPEN_PLANS.clear()
    yield


def pytest_sessionfinish(session):
    if utils.mutants_db_built:
        from pytest_django.plugin import blocking_manager_key

        from tests.support.taxonomy import seed

        try:
            with session.config.stash[blocking_manager_key].unblock():
                seed()
        except Exception:  # a mutant's own session: its result is already decided
            pass
"""


@dataclass(frozen=True)
class Module:
    name: str
    path: str
    tests: tuple[str, ...]


# The fast subset for each module: the tests of the module itself and the end-to-end tests
# through its edges (webhooks, API, pages). Postgres-only tests are skipped on SQLite.
MODULES = {
    m.name: m
    for m in (
        Module(
            "rules",
            "scheduling/rules.py",
            (
                "tests/scheduling/test_rules.py",
                "tests/scheduling/test_rules_facts.py",
                "tests/scheduling/test_rules_edges.py",
                "tests/scheduling/test_rules_mutants.py",
                "tests/scheduling/test_services.py",
                # check_assignment_now (a change at once on a published roster) and
                # standing_violations (conflicts) are reached only through these.
                "tests/scheduling/test_staged_changes.py",
                "tests/scheduling/test_conflicts.py",
                # A staged shift edit judged in the planned view (as_viewed, _near_q).
                "tests/scheduling/test_shift_edits.py",
            ),
        ),
        Module(
            "escalations",
            "hotline/crisis/escalations.py",
            (
                "tests/hotline/crisis/test_escalations.py",
                "tests/hotline/crisis/test_escalation_faults.py",
                "tests/hotline/crisis/test_escalation_edges.py",
                "tests/hotline/crisis/test_ack_sms.py",
                "tests/api/test_escalations_api.py",
                "tests/hotline/crisis/test_escalations_mutants.py",
                # The key press on an alert call (escalation_ack_voice), the alert's channels
                # (alert_params, _channel_used_before), the WeCom take link and the pages
                # (escalation_viewed, raising by hand) are reached only through these.
                "tests/hotline/crisis/test_alert_channels.py",
                "tests/hotline/crisis/test_views.py",
            ),
        ),
        Module(
            "routing",
            "hotline/calls/services.py",
            (
                "tests/hotline/calls/test_routing.py",
                "tests/hotline/calls/test_routing_edges.py",
                "tests/hotline/calls/test_webhooks.py",
                "tests/hotline/calls/test_repeat_callers.py",
                "tests/hotline/calls/test_routing_mutants.py",
                # The rest of the services through their webhooks and pages: the second
                # menu, the queue moving up on a hang-up, safety answers, a late recording
                # or callback request (the inbox), non-data calls, callbacks done.
                "tests/hotline/calls/test_preferences.py",
                "tests/hotline/calls/test_queue.py",
                "tests/hotline/calls/test_voicemail_safety.py",
                "tests/hotline/telephony/test_inbox.py",
                "tests/hotline/taxonomy/test_taxonomy.py",
                "tests/hotline/calls/test_views.py",
            ),
        ),
        Module(
            "feeds",
            "scheduling/feeds/builder.py",
            (
                "tests/scheduling/feeds/test_builder.py",
                "tests/scheduling/feeds/test_builder_edges.py",
                "tests/scheduling/feeds/test_builder_mutants.py",
                # The feeds through their URLs after each kind of change, the cache down.
                "tests/scheduling/feeds/test_stamps.py",
            ),
        ),
        Module(
            "swaps",
            "scheduling/swaps.py",
            (
                "tests/scheduling/test_swaps.py",
                "tests/scheduling/test_swaps_edges.py",
                "tests/scheduling/test_swaps_mutants.py",
                # The swaps API, a coordinator of another hotline on the swaps page, and a
                # coordinator's approval staged on a published roster are reached only here.
                "tests/api/test_me_calendar.py",
                "tests/scheduling/views/test_scoping.py",
                "tests/scheduling/test_staged_changes.py",
            ),
        ),
        # The modules the newer issues added (issue 19, item 3).
        Module(
            "stats",
            "hotline/stats/selectors.py",
            (
                "tests/hotline/stats/test_selectors.py",
                "tests/hotline/stats/test_services.py",
                "tests/hotline/stats/test_selectors_mutants.py",
                # The crisis figures (crisis_stats) and a volunteer's /me/hours/
                # (volunteer_service) are reached only through the pages and the API.
                "tests/hotline/stats/test_views.py",
                "tests/api/test_stats.py",
            ),
        ),
        Module(
            "followups",
            "hotline/followups/services.py",
            (
                "tests/hotline/followups/test_services.py",
                "tests/hotline/followups/test_callbacks.py",
                "tests/hotline/followups/test_services_mutants.py",
                # A follow-up made by hand for a call (follow_up_for_call), the pages and the
                # API's edits, the caller's safety answers keyed in after a callback request
                # (follow_up_callback_answers) and closing one from a callback request are
                # reached only through these.
                "tests/hotline/followups/test_views.py",
                "tests/api/test_follow_ups_api.py",
                "tests/hotline/calls/test_voicemail_safety.py",
                "tests/hotline/followups/test_retention.py",
            ),
        ),
        Module(
            "staged",
            "scheduling/services.py",
            (
                "tests/scheduling/test_staged_changes.py",
                "tests/scheduling/test_services.py",
                "tests/scheduling/test_staged_mutants.py",
                # Staged shift edits (shift_update, their publish and discard), and shifts
                # made from patterns (pattern_spans, roster_generate_shifts).
                "tests/scheduling/test_shift_edits.py",
                "tests/scheduling/test_patterns.py",
                "tests/scheduling/test_shift_edit_mutants.py",
            ),
        ),
        Module(
            "queue",
            "hotline/calls/queue.py",
            (
                "tests/hotline/calls/test_queue.py",
                "tests/hotline/calls/test_queue_mutants.py",
                # The webhooks reach the queue's offers, accept, leg status, re-offer and
                # conference legs only through these (services.py re-exports the queue).
                "tests/hotline/calls/test_routing.py",
                "tests/hotline/calls/test_routing_edges.py",
                "tests/hotline/calls/test_webhooks.py",
                "tests/hotline/calls/test_transfer.py",
                "tests/hotline/calls/test_preferences.py",
                "tests/hotline/calls/test_voicemail_safety.py",
                "tests/hotline/calls/test_conference.py",
            ),
        ),
        Module(
            "conference",
            "hotline/calls/conference.py",
            (
                "tests/hotline/calls/test_conference_events.py",
                "tests/hotline/calls/test_transfer.py",
                "tests/hotline/calls/test_conference.py",
                "tests/hotline/calls/test_conference_transfer_mutants.py",
                "tests/hotline/calls/test_conference_join_mutants.py",
            ),
        ),
        Module(
            "channels",
            "hotline/sms/channels.py",
            (
                "tests/hotline/sms/test_channels.py",
                "tests/hotline/sms/test_channels_mutants.py",
                "tests/hotline/sms/test_aliyun.py",
                "tests/hotline/crisis/test_alert_channels.py",
                "tests/hotline/crisis/test_simulate_alert.py",
            ),
        ),
    )
}
# What `make mutants` runs with no module named: the five of issue 19 (the newer ones, by name).
DEFAULT = ("rules", "escalations", "routing", "feeds", "swaps")

PYPROJECT = """\
[tool.pytest.ini_options]
DJANGO_SETTINGS_MODULE = "config.test_settings"
python_files = ["test_*.py"]
addopts = "-q --strict-markers -p no:cacheprovider"
markers = ["postgres: needs PostgreSQL (skipped on SQLite)"]

[tool.mutmut]
source_paths = {sources}
only_mutate = ["{path}"]
also_copy = {also}
pytest_add_cli_args_test_selection = {tests}
use_git_change_detection = false
"""


def _toml_list(items) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def _scratch(module: Module, *, resume: bool) -> Path:
    """A fresh copy of the project for this module, with mutmut's configuration; with
    `resume`, the copy of an earlier run, whose finished mutants mutmut does not run again."""
    where = WORK / module.name
    if resume and (where / "mutants").exists():
        return where
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPY:
        shutil.copytree(ROOT / name, where / name, ignore=ignore)
    for name in FILES:
        shutil.copy2(ROOT / name, where / name)
    _unwrap_atomic(where / module.path)
    (where / "conftest.py").write_text(CONFTEST)
    (where / "pyproject.toml").write_text(
        PYPROJECT.format(
            sources=_toml_list(["hotline", "scheduling", "api", "config"]),
            path=module.path,
            also=_toml_list(["templates", "locale", "static", "manage.py", "conftest.py"]),
            # A test file this checkout does not have yet (main, for a "before" score) is left out.
            tests=_toml_list(t for t in module.tests if (ROOT / t).exists()),
        )
    )
    return where


def _unwrap_atomic(path: Path) -> None:
    """In the scratch copy only: `@transaction.atomic` on a function becomes
    `with transaction.atomic():` around its body, the same transaction, so that mutmut (which
    never mutates a decorated function) reaches the services. The mutants keep the functions'
    names; the line numbers in `mutmut show` are the copy's."""
    import libcst as cst  # mutmut's own parser

    def atomic(d: cst.Decorator) -> bool:
        return (
            isinstance(d.decorator, cst.Attribute)
            and isinstance(d.decorator.value, cst.Name)
            and d.decorator.value.value == "transaction"
            and d.decorator.attr.value == "atomic"
        )

    class Unwrap(cst.CSTTransformer):
        def leave_FunctionDef(self, original, updated):
            if len(updated.decorators) != 1 or not atomic(updated.decorators[0]):
                return updated
            body = list(updated.body.body)
            if any(True for _ in _yields(original)):
                return updated  # a generator's transaction would end at its first yield
            doc = body[:1] if updated.get_docstring() is not None else []
            block = cst.With(
                items=[cst.WithItem(cst.parse_expression("transaction.atomic()"))],
                body=cst.IndentedBlock(body=body[len(doc) :]),
            )
            return updated.with_changes(
                decorators=[], body=updated.body.with_changes(body=[*doc, block])
            )

    def _yields(node):
        found = []

        class Find(cst.CSTVisitor):
            def visit_FunctionDef(self, inner):
                return inner is node  # not into nested functions

            def visit_Yield(self, _):
                found.append(True)

        node.visit(Find())
        return found

    tree = cst.parse_module(path.read_text())
    path.write_text(tree.visit(Unwrap()).code)


KILLED = {"killed", "timeout", "segfault", "caught by type check"}
SURVIVED = {"survived", "no tests", "suspicious"}
LINE = re.compile(r"^\s*(?P<name>\S+__mutmut_\d+): (?P<status>.+?)\s*$")


def _results(where: Path) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=where,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {m["name"]: m["status"] for m in map(LINE.match, out.splitlines()) if m}


# `mutmut show` for many mutants in one process: a process per survivor cost about a second
# each (four minutes of a `make mutants` with ~250 survivors).
SHOW = """\
import sys
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
from mutmut.stats import status_by_exit_code

for name in sys.argv[1:]:
    m = find_mutant(name)
    print(f"# {name}: {status_by_exit_code[m.exit_code_by_key[name]]}")
    print(get_diff_for_mutant(name, path=m.path))
    print(flush=True)
"""


def _show(where: Path, names: list[str]) -> str:
    return subprocess.run(
        [sys.executable, "-c", SHOW, *names],
        cwd=where,
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def _saved(module: Module) -> dict[str, str]:
    path = WORK / f"{module.name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def run(
    module: Module,
    *,
    jobs: int,
    timeout: int,
    resume: bool = False,
    only: list[str] = (),
    recheck: bool = False,
) -> tuple[int, int, list[str], bool]:
    """Run the module's mutants (all, or those matching `only`); with `recheck`, only the
    ones that survived the last run or were not run, in a fresh copy with the tests as they are now (a
    mutant the tests killed stays killed: tests were only added, the code is the same)."""
    before = _saved(module)
    names = list(only)
    if recheck:
        if not before:
            raise SystemExit(
                f"{module.name}: no earlier run to recheck ({WORK}/{module.name}.json)"
            )
        # The survivors, and the mutants a time limit left unrun.
        names = sorted(n for n, s in before.items() if s not in KILLED)
    where = _scratch(module, resume=resume and not recheck)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    env.pop("DATABASE_URL", None)  # SQLite: the fast subset, no server needed
    started = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    timed_out = False
    try:
        subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs), *names],
            cwd=where,
            env=env,
            timeout=timeout,
            check=False,
            stdout=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        timed_out = True
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    results = _results(where)
    if recheck:
        results = {
            **before,
            **{n: s for n, s in results.items() if n in names and s in KILLED | SURVIVED},
        }
    elif only:
        results = {n: s for n, s in results.items() if any(fnmatch(n, p) for p in only)}
    if not only or recheck:
        (WORK / f"{module.name}.json").write_text(json.dumps(results, indent=0, sort_keys=True))
    killed = sum(1 for s in results.values() if s in KILLED)
    timeouts = sum(1 for s in results.values() if s == "timeout")
    # A mutant no chosen test reaches ("no tests") survives as surely as one they miss.
    survivors = sorted(n for n, s in results.items() if s in SURVIVED)
    done = killed + len(survivors)
    print(
        f"{module.name}: {module.path}: {killed}/{done} killed"
        + (f" ({100 * killed / done:.0f}%)" if done else "")
        + f" ({timeouts} by timeout), {len(survivors)} survived, {len(results) - done} not run"
        + (" (time limit reached)" if timed_out else "")
        + (f", {len(names)} rechecked" if recheck else "")
        + f", {time.monotonic() - started:.0f} s wall, {cpu:.0f} s CPU",
        flush=True,
    )
    return killed, done, survivors, timed_out


def main(argv: list[str]) -> int:
    if "--list" in argv:
        for m in MODULES.values():
            print(f"{m.name}: {m.path}\n  " + "\n  ".join(m.tests))
        return 0
    names = [a for a in argv if not a.startswith("-")] or list(DEFAULT)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        print(f"unknown module(s): {', '.join(unknown)}; try --list", file=sys.stderr)
        return 2
    jobs = int(os.environ.get("MUTANTS_JOBS", "2"))
    timeout = int(os.environ.get("MUTANTS_TIMEOUT", "1800"))
    WORK.mkdir(parents=True, exist_ok=True)
    for name in names:
        module = MODULES[name]
        killed, done, survivors, _timed_out = run(
            module,
            jobs=jobs,
            timeout=timeout,
            resume="--resume" in argv,
            only=os.environ.get("MUTANTS_ONLY", "").split(),
            recheck="--recheck" in argv,
        )
        for survivor in survivors:
            print(f"  survived: {survivor}", flush=True)
        report = WORK / f"{name}-report.txt"
        report.write_text(
            f"== {name} ({module.path}): {killed}/{done} killed\n"
            + (_show(WORK / name, survivors) if survivors else "")
        )
    print(f"survivors' diffs: {WORK}/<module>-report.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
