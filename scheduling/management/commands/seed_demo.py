"""Demo data: one hotline, three branches, about 40 volunteers, three weeks of published roster.

Idempotent: running it again adds only what is missing and fills only empty seats.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from hotline.access import COORDINATORS_GROUP
from hotline.models import Hotline, Organisation, Role, Volunteer
from hotline.people import services as people
from scheduling import services
from scheduling.availability import services as availability
from scheduling.models import Assignment, Availability, Roster, ShiftPattern
from scheduling.rules import RuleViolation

User = get_user_model()

HOTLINE_NUMBER = "+8637520000000"
# The city federation runs the line; its county and district branches sit under it
# (coordinators manage their organisation and its branches: docs/security.md).
FEDERATION = "市妇联"
BRANCHES = ["市直机关分会", "城东区妇联", "城西县妇联"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = [
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
]

# (count, roles, crisis-trained count, max shifts a week)
COHORTS = [
    (24, ("counsellor",), 10, 3),
    (9, ("family_educator",), 0, 3),
    (3, ("counsellor", "family_educator"), 1, 3),
    (4, ("supervisor", "counsellor"), 4, 4),
]
PATTERNS = [
    # name, start, end, counsellors, crisis-trained, family educators, supervisors
    ("早班 Morning", dt.time(8), dt.time(14), 2, 1, 1, 0),
    ("午班 Afternoon", dt.time(14), dt.time(20), 2, 1, 1, 0),
    ("夜班 Night", dt.time(20), dt.time(8), 2, 1, 0, 1),
]
AVAILABLE, PREFERRED = Availability.Kind.AVAILABLE, Availability.Kind.PREFERRED
DEMO_PASSWORDS = {
    "coordinator": "coordinator-demo",
    "supervisor": "supervisor-demo",
    "volunteer": "volunteer-demo",
}


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--weeks", type=int, default=3, help="weeks of published roster")

    @transaction.atomic
    def handle(self, *args, weeks: int, **options):
        hotline, _ = Hotline.objects.get_or_create(
            phone_number=HOTLINE_NUMBER,
            defaults={
                "name": "心理援助热线 Support Hotline",
                "time_zone": "Asia/Shanghai",
                "language": Hotline.Language.ZH_CN,
                "greeting": "您好，这里是妇联心理援助热线。",
                "emergency_numbers": "120, 110",
            },
        )
        federation, _ = Organisation.objects.get_or_create(name=FEDERATION)
        if hotline.organisation_id is None:
            Hotline.objects.filter(pk=hotline.pk).update(organisation=federation)
        branches = [
            Organisation.objects.get_or_create(name=name, defaults={"parent": federation})[0]
            for name in BRANCHES
        ]
        coordinator = self._coordinator(branches[0])
        volunteers = self._volunteers(branches)
        self._patterns(hotline)

        roster = self._current_roster(hotline, weeks)
        filled = missing = 0
        if not roster.is_published:
            # Only a new roster is filled: a published one is what volunteers already have
            # (a change to it would wait as a pending change, or be urgent).
            filled, missing = self._fill(roster, volunteers, coordinator)
            services.roster_publish(roster=roster, by=coordinator)

        self.stdout.write(
            self.style.SUCCESS(f"Demo hotline {hotline.name} ({hotline.phone_number})")
        )
        self.stdout.write(
            f"Roster {roster} published: {filled} seats filled now, {missing} left empty."
        )
        self.stdout.write("Logins (username / password):")
        self.stdout.write(f"  coordinator / {DEMO_PASSWORDS['coordinator']}   (admin, coordinator)")
        self.stdout.write(
            f"  supervisor  / {DEMO_PASSWORDS['supervisor']}    (supervisor, crisis-trained)"
        )
        self.stdout.write(
            f"  volunteer01 … volunteer{len(volunteers) - 1:02d} / {DEMO_PASSWORDS['volunteer']}"
        )

    def _login(self, username: str, password: str, **flags):
        """A demo login. Its password is set here, outside the password rules: demo
        passwords are meant to be guessed (never load the demo on a real site)."""
        user, created = User.objects.get_or_create(username=username, defaults=flags)
        if created:
            user.set_password(password)
            user.save()
        return user

    def _coordinator(self, branch):
        user = self._login(
            "coordinator", DEMO_PASSWORDS["coordinator"], is_staff=True, is_superuser=True
        )
        group, _ = Group.objects.get_or_create(name=COORDINATORS_GROUP)
        user.groups.add(group)
        # A staff record with a phone, so coordinators can get SMS (no roles: never rostered).
        if not Volunteer.objects.filter(user=user).exists():
            people.volunteer_create(
                by=None,
                user=user,
                display_name="陈协调 Coordinator Chen",
                phone_number="+8613600136000",
                organisation=branch,
            )
        return user

    def _volunteers(self, branches) -> list[Volunteer]:
        volunteers = []
        supervisor_user = self._login("supervisor", DEMO_PASSWORDS["supervisor"])
        n = 0
        for count, roles, trained, max_week in COHORTS:
            for i in range(count):
                if roles[0] == Role.SUPERVISOR and i == 0:
                    user = supervisor_user
                    phone = "+8613700137000"
                else:
                    n += 1
                    user = self._login(f"volunteer{n:02d}", DEMO_PASSWORDS["volunteer"])
                    phone = "+8613900139000" if n == 1 else f"+86139{n:08d}"
                volunteer = Volunteer.objects.filter(user=user).first()
                if volunteer is None:
                    k = len(volunteers)
                    volunteer = people.volunteer_create(
                        by=None,
                        user=user,
                        display_name=SURNAMES[k % len(SURNAMES)] + GIVEN[k % len(GIVEN)],
                        phone_number=phone,
                        roles=roles,
                        crisis_trained=i < trained,
                        organisation=branches[k % len(branches)],
                        max_shifts_per_week=max_week,
                        languages=["zh"] + (["en"] if k % 5 == 0 else []),
                    )
                    self._availability(volunteer, k)
                volunteers.append(volunteer)
        return volunteers

    def _availability(self, volunteer, index: int) -> None:
        # A third keep set windows (evenings, or weekdays by day and weekends all day); the
        # rest are available any time. One has a week of time off in the future. Written
        # through the same service as the volunteer's own page, so the same checks apply.
        windows = []
        if index % 3 == 1:
            windows = [(weekday, dt.time(14), dt.time(8), AVAILABLE) for weekday in range(7)]
        elif index % 3 == 2 and index % 2 == 0:
            windows = [(weekday, dt.time(8), dt.time(20), PREFERRED) for weekday in range(5)]
            # A whole day is two windows: one ending where it starts would be empty.
            for weekday in (5, 6):
                windows += [
                    (weekday, dt.time(0), dt.time(12), AVAILABLE),
                    (weekday, dt.time(12), dt.time(0), AVAILABLE),
                ]
        for weekday, start, end, kind in windows:
            availability.availability_add(
                volunteer=volunteer, weekday=weekday, start_time=start, end_time=end, kind=kind
            )
        if index == 7:
            start = timezone.now() + dt.timedelta(days=30)
            availability.time_off_add(
                volunteer=volunteer,
                starts_at=start,
                ends_at=start + dt.timedelta(days=7),
                reason="年假",
            )

    def _patterns(self, hotline) -> None:
        for name, start, end, counsellors, trained, educators, supervisors in PATTERNS:
            ShiftPattern.objects.get_or_create(
                hotline=hotline,
                name=name,
                defaults={
                    "start_time": start,
                    "end_time": end,
                    "weekdays": list(range(7)),
                    "required_counsellors": counsellors,
                    "crisis_trained_required": trained,
                    "required_family_educators": educators,
                    "required_supervisors": supervisors,
                },
            )

    def _current_roster(self, hotline, weeks: int) -> Roster:
        """A roster covering this week and the next `weeks` - 1: the demo never goes stale.
        Re-run later, it rolls forward: a new roster from the day after the last one (or from
        this Monday, when the last one is over) to the end of the period."""
        today = timezone.now().astimezone(hotline.tz).date()
        monday = today - dt.timedelta(days=today.weekday())
        until = monday + dt.timedelta(days=7 * weeks - 1)
        latest = Roster.objects.filter(hotline=hotline).order_by("-last_day", "-id").first()
        if latest is not None and latest.last_day >= until:
            return latest
        first = monday if latest is None or latest.last_day < monday else latest.last_day
        if latest is not None and first == latest.last_day:
            first += dt.timedelta(days=1)
        return services.roster_create(hotline=hotline, first_day=first, last_day=until)

    def _fill(self, roster, volunteers, by) -> tuple[int, int]:
        """Fill empty seats through the rule layer, least-loaded volunteer first."""
        load = {v.pk: 0 for v in volunteers}
        for volunteer_id in Assignment.objects.filter(
            shift__roster=roster, status=Assignment.Status.ACTIVE
        ).values_list("volunteer_id", flat=True):
            load[volunteer_id] = load.get(volunteer_id, 0) + 1
        filled = missing = 0
        for shift in roster.shifts.select_related("roster__hotline").order_by("starts_at"):
            for role in (Role.SUPERVISOR, Role.COUNSELLOR, Role.FAMILY_EDUCATOR):
                have = shift.assignments.filter(status=Assignment.Status.ACTIVE, role=role).count()
                for _seat in range(shift.required(role) - have):
                    trained_short = (
                        role == Role.COUNSELLOR
                        and shift.assignments.filter(
                            status=Assignment.Status.ACTIVE,
                            role=role,
                            volunteer__crisis_trained=True,
                        ).count()
                        < shift.crisis_trained_required
                    )

                    def preference(v, trained_short=trained_short, role=role):
                        # Crisis-trained first only while the shift still needs one; keep
                        # supervisors free for supervisor seats; then the least loaded.
                        return (
                            trained_short and not v.crisis_trained,
                            role != Role.SUPERVISOR and v.is_supervisor,
                            load[v.pk],
                            v.pk,
                        )

                    candidates = sorted((v for v in volunteers if v.holds(role)), key=preference)
                    for volunteer in candidates:
                        try:
                            services.assignment_create(
                                shift=shift,
                                volunteer=volunteer,
                                role=role,
                                by=by,
                                source=Assignment.Source.AUTO,
                            )
                        except RuleViolation:
                            continue
                        load[volunteer.pk] += 1
                        filled += 1
                        break
                    else:
                        missing += 1
        return filled, missing
