"""Keyset (cursor) pagination shared by every API list."""

from rest_framework.pagination import CursorPagination


class KeysetPagination(CursorPagination):
    """Newest first by primary key: a stable, indexed keyset that never skips or repeats rows."""

    ordering = "-pk"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000
