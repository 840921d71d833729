"""The activity report as files: XLSX (openpyxl), DOCX (python-docx) and one CSV per table.

Every file is built from the dict `selectors.activity_stats` returns, in the active language
(headers, labels and the narrative through gettext; codes stay codes in a "code" column so a
spreadsheet can be matched across languages). Numbers are written as numbers. An empty
period gives the same files, with zeros.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hotline.models import Escalation, RiskLevel
from hotline.taxonomy.selectors import labels as taxonomy_labels

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CSV_TYPE = "text/csv"


def _label(choices, code: str) -> str:
    try:
        return str(choices(code).label)
    except ValueError:
        return code


def _risk_label(code: str) -> str:
    return str(RiskLevel(int(code)).label)


# (label, path into the stats dict) for the summary: this period against the previous one.
SUMMARY = [
    (gettext_lazy("Calls received"), ("calls", "received")),
    (gettext_lazy("Answered by a volunteer"), ("calls", "answered")),
    (gettext_lazy("To voicemail"), ("calls", "voicemail")),
    (gettext_lazy("Hung up in the menu or queue"), ("calls", "abandoned")),
    (gettext_lazy("Missed"), ("calls", "missed")),
    (gettext_lazy("Out of hours"), ("calls", "out_of_hours")),
    (gettext_lazy("Answer rate"), ("calls", "answer_rate")),
    (gettext_lazy("Median wait to a volunteer (s)"), ("calls", "wait_seconds", "median")),
    (gettext_lazy("90% waited at most (s)"), ("calls", "wait_seconds", "p90")),
    (gettext_lazy("Callers who called more than once"), ("calls", "repeat_callers")),
    (gettext_lazy("Call reports filed"), ("reports", "filed")),
    (gettext_lazy("Follow-ups needed"), ("reports", "follow_ups_needed")),
    (gettext_lazy("Escalations opened"), ("escalations", "opened")),
    (gettext_lazy("Escalations acknowledged"), ("escalations", "acknowledged")),
    (gettext_lazy("Escalations resolved"), ("escalations", "resolved")),
    (gettext_lazy("Median time to acknowledge (s)"), ("escalations", "ack_seconds", "median")),
    (gettext_lazy("Longest time to acknowledge (s)"), ("escalations", "ack_seconds", "max")),
    (gettext_lazy("Seats on the roster"), ("roster", "seats")),
    (gettext_lazy("Seats filled"), ("roster", "filled")),
    (gettext_lazy("Coverage"), ("roster", "coverage")),
    (gettext_lazy("Hours served"), ("roster", "hours")),
    (gettext_lazy("Active volunteers"), ("roster", "active_volunteers")),
]
PERCENT_KEYS = {"answer_rate", "coverage"}


def figure(stats: dict, path: tuple[str, ...]):
    value = stats
    for key in path:
        value = value[key]
    return value


@dataclass(frozen=True)
class Table:
    name: str
    title: Callable[[], str]
    headers: Callable[[], list[str]]
    rows: Callable[[dict], list[list]]


def _counts(key: str, label: Callable[[str], str]) -> Callable[[dict], list[list]]:
    def rows(stats: dict) -> list[list]:
        previous = stats.get("previous", {}).get(key, {})
        return [[code, label(code), n, previous.get(code, 0)] for code, n in stats[key].items()]

    return rows


def _taxonomy_counts(key: str, table: str) -> Callable[[dict], list[list]]:
    """`_counts` labelled from the taxonomy coordinators edit, read once per table built (in
    the current language); a code no longer in it is shown as is."""

    def rows(stats: dict) -> list[list]:
        names = taxonomy_labels()[table]
        return _counts(key, lambda code: names.get(code, code))(stats)

    return rows


def _count_headers() -> list[str]:
    return [_("code"), _("name"), _("this period"), _("previous period")]


TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "summary",
            lambda: _("Summary"),
            lambda: [_("figure"), _("this period"), _("previous period")],
            lambda s: [
                [str(label), figure(s, path), figure(s["previous"], path)]
                for label, path in SUMMARY
            ],
        ),
        Table(
            "calls_by_day",
            lambda: _("Calls by day"),
            lambda: [_("date"), _("received"), _("answered")],
            lambda s: [[r["date"], r["received"], r["answered"]] for r in s["by_day"]],
        ),
        Table(
            "calls_by_hour",
            lambda: _("Calls by hour of day"),
            lambda: [_("hour"), _("received"), _("answered")],
            lambda s: [[r["hour"], r["received"], r["answered"]] for r in s["by_hour"]],
        ),
        Table(
            "categories",
            lambda: _("Categories"),
            _count_headers,
            _taxonomy_counts("by_category", "category"),
        ),
        Table(
            "caller_groups",
            lambda: _("Caller groups"),
            _count_headers,
            _taxonomy_counts("by_caller_group", "caller_group"),
        ),
        Table(
            "risk_levels", lambda: _("Risk levels"), _count_headers, _counts("by_risk", _risk_label)
        ),
        Table(
            "escalation_outcomes",
            lambda: _("Escalation outcomes"),
            _count_headers,
            lambda s: [
                [
                    code,
                    _label(Escalation.Outcome, code),
                    n,
                    s["previous"]["escalations"]["by_outcome"].get(code, 0),
                ]
                for code, n in s["escalations"]["by_outcome"].items()
            ],
        ),
        Table(
            "volunteer_hours",
            lambda: _("Hours per volunteer"),
            lambda: [
                _("volunteer"),
                _("organisation"),
                _("hours"),
                _("shifts"),
                _("nights"),
                _("weekends"),
                _("calls answered"),
            ],
            lambda s: [
                [
                    r["name"],
                    r["organisation_name"],
                    r["hours"],
                    r["shifts"],
                    r["nights"],
                    r["weekends"],
                    r["calls"],
                ]
                for r in s["roster"]["volunteer_hours"]
            ],
        ),
        Table(
            "organisations",
            lambda: _("Hours per organisation"),
            lambda: [
                _("organisation"),
                _("hours"),
                _("shifts"),
                _("volunteers"),
                _("calls answered"),
            ],
            lambda s: [
                [r["name"] or _("(none)"), r["hours"], r["shifts"], r["volunteers"], r["calls"]]
                for r in s["roster"]["by_organisation"]
            ],
        ),
    ]
}


def table_csv(stats: dict, name: str) -> bytes:
    """One table as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
    Chinese headers right)."""
    table = TABLES[name]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers())
    for row in table.rows(stats):
        writer.writerow(["" if v is None else _inert(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value):
    """A text a spreadsheet would run as a formula (a volunteer named "=HYPERLINK(…)"),
    made plain text with a leading apostrophe; numbers are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _width(value) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def activity_xlsx(stats: dict, *, title: str) -> bytes:
    """A summary sheet and one sheet per breakdown; real numbers, column widths set."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, table in TABLES.items():
        sheet = book.create_sheet(title=table.title()[:31])
        if name == "summary":
            sheet.append([title])
            sheet.append([_("Period"), f"{stats['period']['from']} – {stats['period']['to']}"])
            sheet.append(
                [
                    _("Previous period"),
                    f"{stats['previous']['period']['from']} – {stats['previous']['period']['to']}",
                ]
            )
            sheet.append([])
            sheet["A1"].font = Font(bold=True, size=14)
        header_row = sheet.max_row + 1 if name == "summary" else 1
        sheet.append(table.headers())
        for cell in sheet[header_row]:
            cell.font = Font(bold=True)
        for row in table.rows(stats):
            sheet.append(row)
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":  # text that openpyxl took for a formula
                    cell.data_type = "s"
        for label, path in SUMMARY if name == "summary" else []:
            if path[-1] in PERCENT_KEYS:
                for row in sheet.iter_rows(min_row=header_row + 1):
                    if row[0].value == str(label):
                        for cell in row[1:]:
                            cell.number_format = "0.0%"
        for column in sheet.columns:
            letter = column[0].column_letter
            width = max(
                (_width(c.value) for c in column[1 if name == "summary" else 0 :]), default=8
            )
            sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def narrative(stats: dict) -> list[str]:
    """A few sentences a branch can paste into its report upward."""
    calls, previous = stats["calls"], stats["previous"]["calls"]
    roster, esc = stats["roster"], stats["escalations"]
    lines = [
        _(
            "From %(from)s to %(to)s the line received %(received)s calls (previous period: "
            "%(previous)s); volunteers answered %(answered)s of them, an answer rate of %(rate)s."
        )
        % {
            "from": stats["period"]["from"],
            "to": stats["period"]["to"],
            "received": calls["received"],
            "previous": previous["received"],
            "answered": calls["answered"],
            "rate": _pct(calls["answer_rate"]),
        },
        _(
            "%(volunteers)s volunteers served %(hours)s hours on %(filled)s of %(seats)s "
            "roster seats (coverage %(coverage)s)."
        )
        % {
            "volunteers": roster["active_volunteers"],
            "hours": roster["hours"],
            "filled": roster["filled"],
            "seats": roster["seats"],
            "coverage": _pct(roster["coverage"]),
        },
        _(
            "%(reports)s calls were written up; %(followups)s need a follow-up. "
            "%(opened)s crisis escalations were opened and %(resolved)s resolved."
        )
        % {
            "reports": stats["reports"]["filed"],
            "followups": stats["reports"]["follow_ups_needed"],
            "opened": esc["opened"],
            "resolved": esc["resolved"],
        },
    ]
    return lines


def activity_docx(stats: dict, *, title: str, scope_label: str) -> bytes:
    """The activity report a branch e-mails upward: title, period, organisation, a short
    narrative built from the figures, then the tables."""
    from docx import Document

    doc = Document()
    doc.add_heading(title, level=0)
    doc.add_paragraph(f"{_('Period')}: {stats['period']['from']} – {stats['period']['to']}")
    doc.add_paragraph(f"{_('Covers')}: {scope_label}")
    for line in narrative(stats):
        doc.add_paragraph(line)
    for name, table in TABLES.items():
        if name in ("calls_by_day",):
            continue  # a month of days is for the spreadsheet, not the letter
        doc.add_heading(table.title(), level=1)
        headers = table.headers()
        rows = table.rows(stats)
        grid = doc.add_table(rows=1, cols=len(headers))
        grid.style = "Table Grid"
        for cell, text in zip(grid.rows[0].cells, headers, strict=True):
            cell.text = str(text)
        for row in rows:
            cells = grid.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                cell.text = _cell_text(value, name)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _cell_text(value, table: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and table == "summary" and value <= 1 and not value.is_integer():
        return _pct(value)
    return str(value)


def report_title(scope) -> str:
    return _("Activity report: %(scope)s") % {"scope": scope.label or _("no hotline")}
