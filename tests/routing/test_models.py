"""The invariants of territories, reps and their seats, kept by the database and by ``clean()``."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from routing.models import Rep, Territory, TerritoryMembership
from tests.factories import RepFactory, TerritoryFactory, TerritoryMembershipFactory

pytestmark = pytest.mark.django_db


def test_rep_working_hours_must_end_after_they_start():
    with pytest.raises(IntegrityError, match="rep_work_hours_order"), transaction.atomic():
        RepFactory(work_start=datetime.time(17), work_end=datetime.time(9))


def test_rep_working_hours_cannot_be_empty():
    with pytest.raises(IntegrityError, match="rep_work_hours_order"), transaction.atomic():
        RepFactory(work_start=datetime.time(9), work_end=datetime.time(9))


def test_rep_cannot_be_their_own_backup():
    rep = RepFactory()

    with pytest.raises(IntegrityError, match="rep_not_own_backup"), transaction.atomic():
        Rep.objects.filter(pk=rep.pk).update(backup=rep)


def test_another_rep_can_be_the_backup():
    rep, colleague = RepFactory(), RepFactory()
    rep.backup = colleague
    rep.save()

    assert list(colleague.backing_up.all()) == [rep]


def test_rep_clean_refuses_an_unknown_time_zone():
    rep = RepFactory.build(timezone="Mars/Olympus_Mons")

    with pytest.raises(ValidationError) as excinfo:
        rep.clean()

    assert "timezone" in excinfo.value.message_dict


def test_rep_clean_refuses_working_hours_in_the_wrong_order():
    rep = RepFactory.build(timezone="Europe/Berlin", work_start=datetime.time(18), work_end=datetime.time(8))

    with pytest.raises(ValidationError) as excinfo:
        rep.clean()

    assert "work_end" in excinfo.value.message_dict


def test_rep_clean_accepts_a_real_time_zone_and_a_working_day():
    RepFactory.build(timezone="America/New_York", work_start=datetime.time(8), work_end=datetime.time(16)).clean()


def test_territory_employee_range_must_not_be_upside_down():
    with pytest.raises(IntegrityError, match="territory_employee_range"), transaction.atomic():
        TerritoryFactory(min_employees=500, max_employees=100)


@pytest.mark.parametrize(("low", "high"), [(100, 100), (None, 100), (100, None), (None, None)])
def test_territory_employee_range_may_be_open_or_exact(low, high):
    territory = TerritoryFactory(min_employees=low, max_employees=high)

    assert Territory.objects.filter(pk=territory.pk).exists()


def test_membership_weight_is_at_least_one():
    with pytest.raises(IntegrityError, match="territory_membership_weight_positive"), transaction.atomic():
        TerritoryMembershipFactory(weight=0)


def test_a_rep_has_one_seat_per_territory():
    seat = TerritoryMembershipFactory(weight=2)

    with pytest.raises(IntegrityError, match="territory_membership_unique"), transaction.atomic():
        TerritoryMembershipFactory(territory=seat.territory, rep=seat.rep)


def test_rep_territories_come_through_their_seats():
    rep = RepFactory()
    east, west = TerritoryFactory(name="East"), TerritoryFactory(name="West")
    TerritoryMembership.objects.create(territory=east, rep=rep, weight=3)
    TerritoryMembership.objects.create(territory=west, rep=rep)

    assert set(rep.territories.all()) == {east, west}
    assert rep.memberships.get(territory=east).weight == 3
    assert list(east.reps.all()) == [rep]
