"""Template context for every page: the signed-in user's unread notifications (counted only if shown)."""

from __future__ import annotations

from django.http import HttpRequest

from routing.selectors import notification_unread_count


def notifications(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # A callable: the template calls it, so a page that does not show the nav runs no query.
    return {"unread_notifications": lambda: notification_unread_count(user=user)}
