from __future__ import annotations

import pytest

from tests.reports.data import ReportData, make_report_data


@pytest.fixture
def report_data(db) -> ReportData:
    """The hand-made data set described in ``tests/reports/data.py``."""
    return make_report_data()
