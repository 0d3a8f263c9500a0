"""The start page sends each role to its page; signing in and out works; anonymous users must log in."""

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (["sales"], "routing:queue"),
        (["marketing"], "leads:inbox"),
        (["admin"], "scoring:definition"),
        (["marketing", "sales"], "routing:queue"),
    ],
)
def test_home_redirects_each_role_to_its_page(client, roles, expected):
    client.force_login(UserFactory(roles=roles))

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url == reverse(expected)


def test_superuser_counts_as_admin_on_home(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))

    assert client.get("/").url == reverse("scoring:definition")


def test_user_without_a_role_is_told_so_instead_of_redirected(client):
    client.force_login(UserFactory())

    response = client.get("/")

    assert response.status_code == 403
    assert "no role yet" in response.content.decode()


@pytest.mark.parametrize("url", ["/", "/leads/", "/leads/1/", "/queue/", "/definition/", "/definition/1/"])
def test_anonymous_users_are_sent_to_the_login_page(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_anonymous_post_to_an_action_is_sent_to_login_and_changes_nothing(client):
    response = client.post("/queue/claim/1/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_page_shows_the_form(client):
    response = client.get(reverse("login"))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_logging_in_lands_on_the_role_page(client, marketer):
    response = client.post(reverse("login"), {"username": "mara", "password": PASSWORD}, follow=True)

    assert response.redirect_chain == [(reverse("home"), 302), (reverse("leads:inbox"), 302)]
    assert response.status_code == 200


def test_wrong_password_shows_an_error_and_keeps_the_user_out(client, marketer):
    response = client.post(reverse("login"), {"username": "mara", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_from_the_top_bar(client, marketer):
    client.force_login(marketer)
    html = client.get(reverse("leads:inbox")).content.decode()
    assert f'action="{reverse("logout")}"' in html

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_navigation_shows_each_role_its_pages(client, marketer, rep, lf_admin):
    client.force_login(marketer)
    marketing_nav = client.get(reverse("leads:inbox")).content.decode()
    client.force_login(rep)
    sales_nav = client.get(reverse("routing:queue")).content.decode()
    client.force_login(lf_admin)
    admin_nav = client.get(reverse("scoring:definition")).content.decode()

    assert ">Inbox<" in marketing_nav
    assert ">My queue<" not in marketing_nav
    assert ">Lead definition<" in marketing_nav  # everyone reads the contract; admins edit it
    assert ">My queue<" in sales_nav
    assert ">Inbox<" not in sales_nav
    assert ">Lead definition<" in sales_nav
    assert ">Lead definition<" in admin_nav
    assert ">Inbox<" in admin_nav
    assert ">Django admin<" not in admin_nav  # not staff


def test_staff_see_the_django_admin_link(client):
    client.force_login(UserFactory(roles=["admin"], is_staff=True))

    assert ">Django admin<" in client.get(reverse("scoring:definition")).content.decode()
