"""The three roles: groups kept in step with ``ROLE_PERMISSIONS``, and who has which role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission

from leads import roles
from leads.roles import ADMIN, MARKETING, ROLE_PERMISSIONS, ROLES, SALES, roles_ensure, user_roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _group_permissions(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


@pytest.mark.parametrize("role", ROLES)
def test_migrate_leaves_each_role_group_with_exactly_its_permissions(role):
    assert _group_permissions(role) == set(ROLE_PERMISSIONS[role])


def test_roles_ensure_puts_back_a_removed_permission_and_removes_an_extra_one():
    group = Group.objects.get(name=SALES)
    group.permissions.remove(Permission.objects.get(codename="work_lead"))
    group.permissions.add(Permission.objects.get(codename="delete_lead"))

    roles_ensure()

    assert _group_permissions(SALES) == set(ROLE_PERMISSIONS[SALES])


def test_roles_ensure_recreates_a_deleted_group():
    Group.objects.filter(name=MARKETING).delete()

    groups = roles_ensure()

    assert groups[MARKETING].name == MARKETING
    assert _group_permissions(MARKETING) == set(ROLE_PERMISSIONS[MARKETING])


def test_roles_ensure_names_permissions_that_do_not_exist(monkeypatch):
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, SALES, [*ROLE_PERMISSIONS[SALES], "leads.fly_lead"])

    with pytest.raises(LookupError, match=r"leads\.fly_lead"):
        roles_ensure()


def test_user_roles_are_the_role_groups_of_the_user():
    user = UserFactory(roles=[ADMIN, SALES])
    user.groups.add(Group.objects.create(name="book club"))

    assert user_roles(user) == {ADMIN, SALES}


def test_a_superuser_counts_as_admin():
    assert user_roles(UserFactory(is_superuser=True)) == {ADMIN}


def test_anonymous_visitors_have_no_role():
    assert user_roles(AnonymousUser()) == set()


def test_user_roles_are_read_once_per_user_object(django_assert_num_queries, marketer):
    with django_assert_num_queries(1):
        assert user_roles(marketer) == {MARKETING}
        assert user_roles(marketer) == {MARKETING}


def test_role_permissions_reach_the_user(marketer, rep, lf_admin):
    assert marketer.has_perm("leads.triage_lead")
    assert not marketer.has_perm("leads.work_lead")
    assert not marketer.has_perm("leads.approve_definition")
    assert rep.has_perm("leads.work_lead")
    assert not rep.has_perm("leads.view_all_leads")
    assert lf_admin.has_perm("leads.approve_definition")
    assert lf_admin.has_perm("leads.view_auditevent")
