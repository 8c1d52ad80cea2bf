"""Every date a person sees is the Asia/Tokyo date: checked with the clock frozen at 01:30 JST,
when the UTC date is still the day before."""

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from agencyapp.formatting import date_ja, date_wareki, stamp_tokyo, today_tokyo
from agencyapp.models import ImprovementPoint
from agencyapp.services import improvements
from tests.factories import PASSWORD, act
from tests.test_review import submit_answers

NIGHT_IN_TOKYO = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 2026-12-02 01:30 JST
TOKYO_DAY = "令和8年12月2日（2026年12月2日）"


def test_both_parts_of_a_wareki_date_are_the_japan_date():
    assert date_wareki(NIGHT_IN_TOKYO) == TOKYO_DAY
    assert date_ja(NIGHT_IN_TOKYO) == "2026年12月2日"


def test_today_and_file_stamps_follow_japan_time():
    with time_machine.travel(NIGHT_IN_TOKYO, tick=False):
        assert today_tokyo().isoformat() == "2026-12-02"
        assert stamp_tokyo() == "20261202"


def test_a_request_issued_at_night_is_dated_the_japan_day_everywhere(ctx, world, make_web):
    with time_machine.travel(NIGHT_IN_TOKYO, tick=False):
        submission = submit_answers(world.agency, world.submission_a)
        act(improvements.suggest_points, world.center, submission)
        ids = list(ctx_ids(submission))
        request_row = act(improvements.issue_request, world.center, submission, ids, today_tokyo() + timedelta(days=30))
        agency = make_web()
        agency.login("agency-a", PASSWORD)
        sheet = agency.get(f"/improvements/requests/{request_row.id}").get_data(as_text=True)
        assert TOKYO_DAY in sheet and "令和8年12月1日" not in sheet
        point = agency.get(f"/improvements/points/{ids[0]}").get_data(as_text=True)
        assert "2026年12月2日 発行" in point
        center = make_web()
        center.login("center", PASSWORD)
        from tests.test_exports import xlsx_get

        disposition = center.get("/oversight/export.csv?view=points", buffered=True).headers["Content-Disposition"]
        assert "20261202" in disposition, disposition
        assert "20261202" in xlsx_get(center).headers["Content-Disposition"]


def ctx_ids(submission):
    from agencyapp.extensions import db

    return db.session.scalars(
        select(ImprovementPoint.id).where(ImprovementPoint.submission_id == submission.id).order_by(ImprovementPoint.id)
    )
