"""Template context shared by every page."""

from django.http import HttpRequest

from leads.roles import ADMIN, MARKETING, SALES, user_roles


def roles(request: HttpRequest) -> dict[str, object]:
    """The current user's roles, so the navigation shows each role its pages."""
    names = user_roles(request.user) if hasattr(request, "user") else set()
    return {
        "user_roles": names,
        "is_marketing": MARKETING in names,
        "is_sales": SALES in names,
        "is_admin_role": ADMIN in names,
    }
