"""One active volunteer per phone number (SMS replies are matched to a person by number):
the database refuses a second, model validation and the admin name the field."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.test import RequestFactory

from hotline.models import Volunteer
from tests.support import factories as f

pytestmark = pytest.mark.django_db

NUMBER = "+8613811110000"


def test_database_refuses_two_active_volunteers_on_one_number():
    f.volunteer(phone_number=NUMBER)
    with pytest.raises(IntegrityError), transaction.atomic():
        f.volunteer(phone_number=NUMBER)


def test_inactive_records_may_share_a_number_until_reactivated():
    f.volunteer(phone_number=NUMBER)
    old = f.volunteer(phone_number=NUMBER, is_active=False)  # a volunteer who left
    old.is_active = True
    with pytest.raises(IntegrityError), transaction.atomic():
        old.save()


def test_model_validation_reports_it_on_the_phone_field():
    f.volunteer(phone_number=NUMBER)
    other = f.volunteer()
    other.phone_number = NUMBER
    with pytest.raises(Exception) as excinfo:
        other.validate_constraints()
    assert excinfo.value.message_dict == {
        "phone_number": ["Another active volunteer has this phone number."]
    }


def test_admin_form_names_the_field():
    f.volunteer(phone_number=NUMBER)
    other = f.volunteer()
    request = RequestFactory().get("/")
    request.user = f.user(is_staff=True, is_superuser=True)
    form_class = admin.site._registry[Volunteer].get_form(request, other)
    data = {k: v for k, v in model_to_dict(other).items() if v is not None}
    data.update(phone_number="138 1111 0000", languages="[]")  # as typed: normalised first
    form = form_class(data=data, instance=other)
    assert not form.is_valid()
    assert form.errors["phone_number"] == ["Another active volunteer has this phone number."]
