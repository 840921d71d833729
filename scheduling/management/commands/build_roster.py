"""``manage.py build_roster --roster ID [--time-limit S] [--rebuild] [--greedy]``.

Runs an auto-fill synchronously, through the same service as the board's task, with a
progress bar on stderr and a summary on stdout (coverage, spread, unfilled seats with
their reasons in the active language).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from scheduling import builder
from scheduling.models import AutofillRun, Roster

BAR_WIDTH = 30


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
        parser.add_argument("--roster", type=int, required=True, help="roster id")
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
        parser.add_argument("--greedy", action="store_true", help="greedy fill only, no CP-SAT")
        parser.add_argument("--seed", type=int, default=0, help="CP-SAT random seed (default 0)")
        parser.add_argument("--language", help="language of the summary, e.g. zh-hans or en")

    def handle(self, *args, **options):
        if options["language"]:
            with translation.override(options["language"]):
                return self._build(options)
        return self._build(options)

    def _build(self, options):
        roster = Roster.objects.select_related("hotline").filter(pk=options["roster"]).first()
        if roster is None:
            raise CommandError(_("No roster with id %(id)s.") % {"id": options["roster"]})
        limit = options["time_limit"]
        if not builder.MIN_TIME_LIMIT <= limit <= builder.MAX_TIME_LIMIT:
            raise CommandError(
                _("--time-limit must be between %(low)g and %(high)g seconds.")
                % {"low": builder.MIN_TIME_LIMIT, "high": builder.MAX_TIME_LIMIT}
            )
        mode = AutofillRun.Mode.REBUILD if options["rebuild"] else AutofillRun.Mode.FILL
        try:
            run = builder.autofill_start(
                roster=roster,
                mode=mode,
                time_limit=limit,
                greedy=options["greedy"],
                seed=options["seed"],
                enqueue=False,
            )
        except builder.AutofillBusy as exc:
            raise CommandError(str(exc)) from None

        self.stdout.write(
            _("Building %(roster)s (%(mode)s)…")
            % {"roster": roster, "mode": run.get_mode_display()}
        )
        stream = self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr
        bar = ProgressBar(stream, tty=hasattr(stream, "isatty") and stream.isatty())
        run = builder.autofill_execute(run_id=run.pk, progress=bar)
        if run.status != AutofillRun.Status.DONE:
            raise CommandError(_("The auto-fill failed: %(message)s") % {"message": run.message})
        self._summary(run.result)

    def _summary(self, result: dict) -> None:
        w = self.stdout.write
        coverage = result["coverage"]
        metrics = result.get("metrics", {})
        w(
            _("Saved: %(created)d added, %(cancelled)d removed, %(refused)d refused by the rules.")
            % {
                "created": result["created"],
                "cancelled": result["cancelled"],
                "refused": len(result["refused"]),
            }
        )
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
        if metrics.get("spread_hours") is not None:
            line = _("Load spread: %(spread)s h") % {"spread": metrics["spread_hours"]}
            if metrics.get("spread_floor_hours") is not None:
                line += " " + _("(floor %(floor)s h)") % {"floor": metrics["spread_floor_hours"]}
            w(line)
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
