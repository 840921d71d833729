from django import forms
from django.utils.translation import gettext_lazy as _

from hotline.dates import BoundedDateTimeField
from scheduling.models import Availability, SwapRequest
from scheduling.validators import validate_time_off_span, validate_window

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class AvailabilityForm(forms.Form):
    weekday = forms.TypedChoiceField(label=_("Day"), choices=WEEKDAYS, coerce=int)
    start_time = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(
        label=_("Until"),
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text=_("At or before the start means the next day."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Availability.Kind.choices)

    def clean(self):
        data = super().clean()
        validate_window(data.get("start_time"), data.get("end_time"))
        return data


class TimeOffForm(forms.Form):
    starts_at = BoundedDateTimeField(
        label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = BoundedDateTimeField(
        label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def clean(self):
        data = super().clean()
        validate_time_off_span(data.get("starts_at"), data.get("ends_at"))
        return data


class CalendarImportForm(forms.Form):
    file = forms.FileField(
        label=_("Calendar file (.ics)"),
        help_text=_("Export your own calendar; its busy times replace your earlier import."),
    )


class OfferForm(forms.Form):
    kind = forms.ChoiceField(choices=SwapRequest.Kind.choices, initial=SwapRequest.Kind.OFFER)
    note = forms.CharField(max_length=300, required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class RosterForm(forms.Form):
    """A new roster from the site (coordinators): its shifts come from the hotline's patterns."""

    hotline = forms.ModelChoiceField(label=_("Hotline"), queryset=None)
    first_day = forms.DateField(
        label=_("First day"), widget=forms.DateInput(attrs={"type": "date"})
    )
    last_day = forms.DateField(label=_("Last day"), widget=forms.DateInput(attrs={"type": "date"}))
    with_patterns = forms.BooleanField(
        label=_("Make its shifts from the hotline's shift patterns"), required=False, initial=True
    )

    def __init__(self, *args, hotlines=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hotline"].queryset = hotlines


class ShiftEditForm(forms.Form):
    """A shift's times (in its hotline's zone: the view parses them there) and seats, from
    the coverage board. The service checks the rest (span, roster days, crisis seats)."""

    starts_at = BoundedDateTimeField(
        label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = BoundedDateTimeField(
        label=_("Ends"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    required_counsellors = forms.IntegerField(label=_("counsellors"), min_value=0, max_value=50)
    crisis_trained_required = forms.IntegerField(
        label=_("of the counsellors, crisis-trained"), min_value=0, max_value=50
    )
    required_family_educators = forms.IntegerField(
        label=_("family-education experts"), min_value=0, max_value=50
    )
    required_supervisors = forms.IntegerField(label=_("supervisors"), min_value=0, max_value=50)
