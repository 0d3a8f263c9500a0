"""OpenAPI schema adjustments that apply to every API (drf-spectacular extensions).

Imported by ``leadflow.api_urls`` so they are registered before the schema is generated.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension


class TimeOfDayFieldExtension(OpenApiSerializerFieldExtension):
    """A ``TimeField`` is a time of day without offset ("09:00:00"), which OpenAPI's ``format: time``
    (RFC 3339 full-time, offset required) rejects; ``partial-time`` is RFC 3339's name for it."""

    target_class = "rest_framework.fields.TimeField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {"type": "string", "format": "partial-time", "example": "09:00:00"}
