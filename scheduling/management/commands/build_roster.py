"""``manage.py build_roster --roster ID [--roster ID …] [--time-limit S] [--rebuild]
[--mode repair|fairest] [--spread-tolerance H] [--options] [--greedy]``.

Runs an auto-fill synchronously, through the same service as the board's task, with a
progress bar on stderr and a summary on stdout (coverage, spread, changes with their
reasons, unfilled seats with their reasons, in the active language). Several ``--roster``
build the rosters of several hotlines for the same period together, from one pool of
volunteers. ``--options`` computes up to three rebuilds to choose from and saves nothing;
``--apply-option KEY --run ID`` saves the chosen one.
"""

from __future__ import annotations

import argparse
import math
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from scheduling import builder
from scheduling.models import AutofillRun, Roster

BAR_WIDTH = 30
# Changes listed in the summary; the rest are counted.
MAX_CHANGES_SHOWN = 20


def tolerance(text: str) -> float:
    """Hours, 0 or more (a bad value exits with status 2, as argparse does)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more hours, not {text!r}")
    return value


class ProgressBar:
    """A one-line bar redrawn in place on a terminal; one line per stage otherwise."""

    def __init__(self, stream, *, tty: bool):
        self.stream = stream
        self.tty = tty
        self.last_stage = None

    def __call__(self, percent: int, stage: str) -> None:
        label = builder.stage_label(stage)
        filled = BAR_WIDTH * percent // 100
        bar = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {percent:3d}% {label}"
        if self.tty:
            self.stream.write(f"\r{bar:<{BAR_WIDTH + 45}}")
            if percent >= 100:
                self.stream.write("\n")
            self.stream.flush()
        elif stage != self.last_stage:
            self.stream.write(bar + "\n")
        self.last_stage = stage


class Command(BaseCommand):
    help = "Fill a roster automatically (OR-Tools CP-SAT), saving through the rule layer."

    def add_arguments(self, parser):
        parser.add_argument(
            "--roster",
            type=int,
            action="append",
            required=True,
            help="roster id; give several to build rosters of several hotlines for one "
            "period together",
        )
        parser.add_argument(
            "--time-limit",
            type=float,
            default=builder.DEFAULT_TIME_LIMIT,
            metavar="SECONDS",
            help=f"solver time budget ({builder.MIN_TIME_LIMIT:g}–{builder.MAX_TIME_LIMIT:g} s, "
            f"default {builder.DEFAULT_TIME_LIMIT:g})",
        )
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="rebuild the unlocked part (default: fill empty seats only, keep everything)",
        )
        parser.add_argument(
            "--mode",
            choices=builder.STRATEGIES,
            help="repair: fewest changes within the spread tolerance (the default for a "
            "rebuild); fairest: fairness first",
        )
        parser.add_argument(
            "--spread-tolerance",
            type=tolerance,
            metavar="HOURS",
            help="repair mode: hours the load spread may stay above its floor "
            "(default: the ROSTER_SPREAD_TOLERANCE_HOURS setting)",
        )
        parser.add_argument(
            "--options",
            action="store_true",
            help="with --rebuild: compute up to three rosters to choose from; save nothing",
        )
        parser.add_argument(
            "--apply-option",
            metavar="KEY",
            help="save option KEY of the options run --run (fewest_changes, balanced, …)",
        )
        parser.add_argument("--run", type=int, help="the options run for --apply-option")
        parser.add_argument("--greedy", action="store_true", help="greedy fill only, no CP-SAT")
        parser.add_argument("--seed", type=int, default=0, help="CP-SAT random seed (default 0)")
        parser.add_argument("--language", help="language of the summary, e.g. zh-hans or en")

    def handle(self, *args, **options):
        if options["language"]:
            with translation.override(options["language"]):
                return self._handle(options)
        return self._handle(options)

    def _handle(self, options):
        rosters = []
        for pk in options["roster"]:
            roster = Roster.objects.select_related("hotline").filter(pk=pk).first()
            if roster is None:
                raise CommandError(_("No roster with id %(id)s.") % {"id": pk})
            rosters.append(roster)
        if options["apply_option"]:
            return self._apply(rosters, options)
        limit = options["time_limit"]
        if not builder.MIN_TIME_LIMIT <= limit <= builder.MAX_TIME_LIMIT:
            raise CommandError(
                _("--time-limit must be between %(low)g and %(high)g seconds.")
                % {"low": builder.MIN_TIME_LIMIT, "high": builder.MAX_TIME_LIMIT}
            )
        mode = AutofillRun.Mode.REBUILD if options["rebuild"] else AutofillRun.Mode.FILL
        try:
            runs = builder.autofill_start_group(
                rosters=rosters,
                mode=mode,
                time_limit=limit,
                greedy=options["greedy"],
                seed=options["seed"],
                strategy=options["mode"],
                spread_tolerance=options["spread_tolerance"],
                options=options["options"],
                enqueue=False,
            )
        except (builder.AutofillBusy, builder.BuildRefused) as exc:
            raise CommandError(str(exc)) from None

        names = ", ".join(str(r) for r in rosters)
        self.stdout.write(
            _("Building %(roster)s (%(mode)s)…")
            % {"roster": names, "mode": runs[0].get_mode_display()}
        )
        stream = self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr
        bar = ProgressBar(stream, tty=hasattr(stream, "isatty") and stream.isatty())
        leader = builder.autofill_execute(run_id=runs[0].pk, progress=bar)
        if leader.status != AutofillRun.Status.DONE:
            raise CommandError(_("The auto-fill failed: %(message)s") % {"message": leader.message})
        if options["options"]:
            self._options(leader, rosters[0])
            return
        for run in runs:
            run.refresh_from_db()
            if len(runs) > 1:
                self.stdout.write(f"\n{run.roster}:")
            self._summary(run.result)

    def _apply(self, rosters, options):
        if len(rosters) != 1 or not options["run"]:
            raise CommandError(_("--apply-option takes one --roster and the options --run."))
        run = AutofillRun.objects.filter(pk=options["run"], roster=rosters[0]).first()
        if run is None:
            raise CommandError(
                _("No auto-fill run %(run)s of this roster.") % {"run": options["run"]}
            )
        try:
            applied = builder.option_apply(run=run, key=options["apply_option"])
        except builder.BuildRefused as exc:
            raise CommandError(str(exc)) from None
        self._saved(applied)
        self._coverage(applied["coverage"])

    # --- output -------------------------------------------------------------------------

    def _saved(self, result: dict) -> None:
        self.stdout.write(
            _("Saved: %(created)d added, %(cancelled)d removed, %(refused)d refused by the rules.")
            % {
                "created": result["created"],
                "cancelled": result["cancelled"],
                "refused": len(result["refused"]),
            }
        )

    def _coverage(self, coverage: dict) -> None:
        w = self.stdout.write
        w(
            _("Coverage: %(percent)s%% (%(filled)d of %(required)d seats filled)")
            % {
                "percent": coverage["percent"],
                "filled": coverage["seats_filled"],
                "required": coverage["seats_required"],
            }
        )
        if coverage["crisis_trained_missing"]:
            w(
                _("Crisis-trained seats missing: %(count)d")
                % {"count": coverage["crisis_trained_missing"]}
            )

    def _spread(self, metrics: dict) -> None:
        if metrics.get("spread_hours") is not None:
            line = _("Load spread: %(spread)s h") % {"spread": metrics["spread_hours"]}
            if metrics.get("spread_floor_hours") is not None:
                line += " " + _("(floor %(floor)s h)") % {"floor": metrics["spread_floor_hours"]}
            self.stdout.write(line)

    def _changes(self, changes: list[dict], indent: str = "  ") -> None:
        for entry in changes[:MAX_CHANGES_SHOWN]:
            sign = "+" if entry["kind"] == "added" else "−"
            when = entry["starts_at"][:16].replace("T", " ")
            self.stdout.write(
                f"{indent}{sign} {entry.get('name', entry['volunteer'])} {when}: "
                f"{builder.change_reason(entry)}"
            )
        if len(changes) > MAX_CHANGES_SHOWN:
            self.stdout.write(
                indent + _("…and %(count)d more.") % {"count": len(changes) - MAX_CHANGES_SHOWN}
            )

    def _summary(self, result: dict) -> None:
        w = self.stdout.write
        metrics = result.get("metrics", {})
        self._saved(result)
        self._coverage(result["coverage"])
        self._spread(metrics)
        if metrics.get("changes") is not None:
            w(
                _("Changes: %(changes)d (%(moved)d people moved, %(mode)s mode)")
                % {
                    "changes": metrics["changes"],
                    "moved": metrics.get("moved_volunteers", 0),
                    "mode": metrics.get("mode", ""),
                }
            )
            self._changes(result.get("changes", []))
        reasons = builder.unfilled_reasons(result["unfilled"])
        if reasons:
            w(_("Unfilled seats:"))
            for entry, reason in zip(result["unfilled"], reasons, strict=True):
                w(f"  - [{entry['count']}] {reason}")
        if result["refused"]:
            w(_("Refused by the rules when saving:"))
            for refusal in result["refused"]:
                w(f"  - {refusal['detail']}")
        if not reasons and not result["refused"]:
            w(self.style.SUCCESS(_("Every seat is filled.")))

    def _options(self, run: AutofillRun, roster: Roster) -> None:
        w = self.stdout.write
        result = run.result
        w(_("Options (run %(run)d), nothing saved yet:") % {"run": run.pk})
        for option in result["options"]:
            s = option["summary"]
            w(
                f"* {option['key']}: "
                + _(
                    "%(filled)d of %(total)d seats filled, %(changes)d changes, %(moved)d "
                    "people moved, spread %(spread)s h (floor %(floor)s h), nights/weekends "
                    "spread %(nights)d/%(weekends)d"
                )
                % {
                    "filled": s["seats_filled"],
                    "total": s["seats_total"],
                    "changes": s["changes"],
                    "moved": s["moved_volunteers"],
                    "spread": s["spread_hours"],
                    "floor": s["spread_floor_hours"],
                    "nights": s["night_spread"],
                    "weekends": s["weekend_spread"],
                }
            )
            self._changes(option["changes"], indent="    ")
        for note in builder.option_notes(result["notes"]):
            w(f"- {note}")
        w(
            _(
                "Choose one with: manage.py build_roster --roster %(roster)d --apply-option KEY --run %(run)d"
            )
            % {"roster": roster.pk, "run": run.pk}
        )
