"""Web-form submissions for the fault tests."""

from __future__ import annotations


def submission(n: int) -> dict[str, str]:
    """The ``n``-th of a set of distinct people (distinct enough that dedupe merges none of them)."""
    first = ["Ann", "Bob", "Cleo", "Dmitri", "Eve", "Farid", "Gus", "Hana", "Ivo", "Jade"][n % 10]
    last = ["Lee", "Moreau", "Novak", "Okafor", "Petit", "Quist", "Rossi", "Sato", "Tanaka", "Ueda"][n // 10 % 10]
    return {
        "external_id": f"form-{n}",
        "first_name": first,
        "last_name": f"{last}-{n // 100}",
        "email": f"person{n}@company{n}.example",
        "company": f"Company {n}",
        "title": "VP Sales",
        "country": "US",
    }
