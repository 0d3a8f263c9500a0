"""The lead definition a fresh install starts from (and the demo publishes as version 1)."""

from typing import Any

DEFAULT_RULES: dict[str, Any] = {
    "screening": {
        "b2b_only": True,
        "competitor_domains": ["rivalcrm.com", "pipelinepro.io"],
        "excluded_industries": ["government", "education"],
        "block_students": True,
        "block_test_entries": True,
    },
    "fit": [
        {
            "id": "senior",
            "label": "Title is VP or above",
            "field": "seniority",
            "op": "in",
            "value": ["vp", "c_level"],
            "points": 20,
        },
        {
            "id": "director",
            "label": "Title is director",
            "field": "seniority",
            "op": "eq",
            "value": "director",
            "points": 10,
        },
        {
            "id": "target_industry",
            "label": "Industry is software, fintech or manufacturing",
            "field": "industry",
            "op": "in",
            "value": ["software", "fintech", "manufacturing"],
            "points": 15,
        },
        {
            "id": "midmarket",
            "label": "Company has 200 or more employees",
            "field": "employees",
            "op": "gte",
            "value": 200,
            "points": 15,
        },
        {
            "id": "tiny",
            "label": "Company has 10 or fewer employees",
            "field": "employees",
            "op": "lte",
            "value": 10,
            "points": -10,
        },
        {
            "id": "core_market",
            "label": "Country is in our core markets",
            "field": "country",
            "op": "in",
            "value": ["US", "CA", "GB", "DE", "FR", "NL"],
            "points": 10,
        },
    ],
    "engagement": [
        {
            "id": "pricing",
            "activity": "pricing_visit",
            "label": "Visited pricing page",
            "points": 20,
            "half_life_days": 14,
            "max_count": 2,
        },
        {
            "id": "webinar",
            "activity": "webinar",
            "label": "Attended a webinar",
            "points": 15,
            "half_life_days": 30,
            "max_count": 2,
        },
        {
            "id": "form",
            "activity": "form_fill",
            "label": "Filled in a form",
            "points": 10,
            "half_life_days": 30,
            "max_count": 2,
        },
        {
            "id": "download",
            "activity": "content_download",
            "label": "Downloaded content",
            "points": 8,
            "half_life_days": 21,
            "max_count": 3,
        },
        {
            "id": "click",
            "activity": "email_click",
            "label": "Clicked an e-mail",
            "points": 3,
            "half_life_days": 7,
            "max_count": 5,
        },
    ],
    "thresholds": {"mql": 60},
    "dedupe": {"auto_merge": 0.92, "review": 0.75},
    # Working hours of the rep: accept within, then the first call, meeting or note within.
    "sla": {"hot_score": 80, "hot_accept_hours": 2, "accept_hours": 24, "hot_touch_hours": 4, "touch_hours": 48},
}
