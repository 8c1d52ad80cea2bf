"""The year's close and the report to the committee: late units recorded, open points carried into the next
cycle with their history, the figures frozen; the report equal to the oversight pages' figures, unchanged by
a later correction once closed, scoped for a ministry, and read back from its .xlsx."""

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from agencyapp import scoring
from agencyapp.extensions import db
from agencyapp.formatting import date_wareki, today_tokyo
from agencyapp.models import AuditEvent, CycleReport, ImprovementPoint, PointEvent, Submission, SubmissionSnapshot
from agencyapp.services import DomainError, committee_report, oversight, year_end
from agencyapp.services.selfcheck import load_state
from tests.factories import act, make_cycle, submission_of
from tests.test_review import issue, signed_in, submit_answers


def _reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


@pytest.fixture
def last_year(ctx, world):
    """FY2025's cycle (due 2026-01-30) for the world's three units: unit A submitted in time and has open
    improvement points, unit A2 submitted after the due date, unit B never submitted. The world's FY2026
    cycle is the next one."""
    cycle = make_cycle([world.unit_a, world.unit_a2, world.unit_b], fiscal_year=2025, due_on=date(2026, 1, 30))
    a = submit_answers(world.agency, submission_of(cycle, world.unit_a))
    submit_answers(world.agency_a2, submission_of(cycle, world.unit_a2))
    db.session.execute(
        update(SubmissionSnapshot)
        .where(SubmissionSnapshot.submission_id == a.id)
        .values(created_at=datetime(2026, 1, 20, 3, 0, tzinfo=UTC))
    )
    db.session.commit()
    issue(world, submission=a)
    world.last_cycle, world.last_a = cycle, a
    return cycle


def _open_points(submission):
    return db.session.scalars(
        select(ImprovementPoint).where(
            ImprovementPoint.submission_id == submission.id, ImprovementPoint.status.in_(("issued", "answered"))
        )
    ).all()


def test_closing_records_late_units_carries_points_and_freezes(last_year, world):
    points = _open_points(world.last_a)
    assert points
    preview = year_end.preview(last_year)
    assert (preview.units, preview.late, preview.unsubmitted, preview.open_points) == (3, 2, 1, len(points))
    act(year_end.close, world.center, last_year)

    cycle = _reload(last_year)
    assert cycle.closed and cycle.status == "closed" and cycle.closed_by_id == world.center.id
    late = dict(
        db.session.execute(
            select(Submission.unit_id, Submission.late_at_close).where(Submission.cycle_id == cycle.id)
        ).all()
    )
    assert late == {world.unit_a.id: False, world.unit_a2.id: True, world.unit_b.id: True}
    for point in points:
        point = _reload(point)
        assert point.carried_to_cycle_id == world.cycle.id and point.status == "issued"  # still open, same point
        kinds = [e.kind for e in db.session.scalars(select(PointEvent).where(PointEvent.point_id == point.id))]
        assert kinds[0] == "issued" and kinds[-1] == "carried"  # its history kept, the carry added
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "cycle.closed"))
    assert event.after["carried_points"] == len(points) and event.after["late"] == 2
    frozen = db.session.scalar(select(CycleReport).where(CycleReport.cycle_id == cycle.id))
    assert frozen.sha256 == committee_report.digest(frozen.figures)
    assert set(frozen.figures["scopes"]) == {"nation", str(world.ministry_a.id), str(world.ministry_b.id)}

    # The next year's report counts what was carried into it.
    assert committee_report.compute(world.cycle)["points"]["carried_in"] == len(points)
    with pytest.raises(DomainError, match="既に締められています"):
        act(year_end.close, world.center, cycle)


def test_closing_waits_for_the_due_date(ctx, world):
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(DomainError, match="提出期限（令和9年1月29日（2027年1月29日））が過ぎていないため"):
        act(year_end.close, world.center, world.cycle)
    assert _reload(world.cycle).status == "open"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
    late = db.session.scalars(select(Submission.late_at_close).where(Submission.cycle_id == world.cycle.id)).all()
    assert late and all(v is None for v in late)


def test_open_points_need_a_next_cycle(ctx, world):
    later = make_cycle([world.unit_a], fiscal_year=2023, due_on=date(2024, 1, 31))
    s = submit_answers(world.agency, submission_of(later, world.unit_a))
    issue(world, submission=s)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(DomainError, match="翌年度の年度点検を開始してください"):
        act(year_end.close, world.center, later)
    assert _reload(later).status == "open"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
    assert all(p.carried_to_cycle_id is None for p in _open_points(s))


def test_report_equals_the_oversight_figures(last_year, world):
    report = committee_report.report(world.center, last_year)
    f = report.figures
    totals = oversight.totals(world.center, last_year)
    assert report.provisional
    assert f["response"]["units"] == totals["units"] == 3
    assert f["response"]["submitted"] == totals["submitted"] == 2
    assert f["response"]["mean"] == totals["mean"]
    assert f["response"]["important_not_met"] == totals["important_not_met"]
    assert f["response"]["earlier_not_kept"] == totals["earlier_not_met"]
    assert f["points"]["open"] + f["points"]["carried_in_open"] == totals["open_points"]
    means = oversight.category_means(last_year.id)
    assert {c["code"]: c["mean"] for c in f["categories"] if c["code"] and c["mean"] is not None} == means
    assert (f["response"]["on_time"], f["response"]["late"], f["response"]["not_submitted"]) == (1, 1, 1)
    assert f["response"]["response_rate"] == 66.7 and f["response"]["on_time_rate"] == 33.3
    assert sum(b["units"] for b in f["response"]["distribution"]) == 2
    # This year's important items: the share of submitted units with every question of the goal at 3.
    assert f["important"]["this_year"] and all(i["units_at_top"] is not None for i in f["important"]["this_year"])
    # And to the scoring module run on each submitted self-check's answers.
    states = [load_state(s) for s in db.session.scalars(select(Submission).where(Submission.cycle_id == last_year.id))]
    scored = [state.scores() for state in states if state.answers]
    assert f["response"]["mean"] == round(sum(s.overall.mean for s in scored) / len(scored), 2)
    whole = next(c for c in f["categories"] if not c["code"])
    assert whole["answered"] == sum(s.overall.count for s in scored)
    assert (
        whole["mean"]
        == scoring.pooled(
            (
                sum(s.overall.count for s in scored),
                sum(s.overall.points for s in scored),
                sum(s.overall.full for s in scored),
            )
        ).mean
    )
    by_ministry = {m["name"]: m for m in f["ministries"]}
    assert by_ministry["厚生労働省"]["submitted"] == 2 and by_ministry["外務省"]["submitted"] == 0


def test_a_frozen_report_does_not_change_after_a_later_correction(last_year, world):
    act(year_end.close, world.center, last_year)
    before = committee_report.report(world.center, _reload(last_year)).figures
    # Unit B submits late after the close: the live figures move, the reported ones do not.
    submit_answers(world.agency_b, submission_of(last_year, world.unit_b))
    assert committee_report.compute(last_year)["response"]["submitted"] == 3
    after = committee_report.report(world.center, _reload(last_year))
    assert not after.provisional and after.figures == before and after.figures["response"]["submitted"] == 2
    unknown = committee_report.report(world.center, _reload(last_year), ministry_id=999_999)
    assert unknown.scope_name == "全国" and unknown.figures == before  # the frozen nation, not a live count


def test_the_ministry_report_is_its_own_beside_the_nation(last_year, world):
    report = committee_report.report(world.ministry_user, last_year, ministry_id=world.ministry_b.id)
    assert report.scope_name == "厚生労働省"  # a ministry cannot ask for another's
    assert report.figures["response"]["units"] == 2 and report.nation["response"]["units"] == 3
    assert report.figures["ministries"] == []
    # Its findings and points are its own bureaus' only.
    other = committee_report.report(world.center, last_year, ministry_id=world.ministry_b.id)
    assert other.figures["response"]["units"] == 1 and other.figures["points"]["issued"] == 0


def test_report_pages_xlsx_and_access(last_year, world, make_web):
    center = signed_in(make_web, "center")
    page = center.get(f"/reports/?cycle={last_year.id}").get_data(as_text=True)
    assert "暫定" in page and "回答状況" in page and "<svg" in page and "chart__table" in page
    assert center.get(f"/reports/print?cycle={last_year.id}").status_code == 200
    response = center.get(f"/reports/report.xlsx?cycle={last_year.id}")
    assert response.status_code == 200
    exported = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id.desc()))
    assert "委員会への報告（暫定・Excel）" in exported.summary and "全国" in exported.summary
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [
        "表紙",
        "回答状況",
        "点数",
        "府省別",
        "府省別・大分類",
        "重要点検項目",
        "改善点",
        "ヒアリング・訪問",
        "改訂候補の設問",
    ]
    cover = {row[0]: row[1] for row in book["表紙"].iter_rows(min_row=4, values_only=True) if row[0]}
    assert cover["年度"] == "令和7年度（2025年度）" and cover["作成日"] == date_wareki(today_tokyo())
    assert cover["数値の状態"].startswith("暫定")
    by_category = {r[0]: r[1:] for r in book["府省別・大分類"].iter_rows(min_row=3, values_only=True)}
    national = {c["code"]: c["mean"] for c in committee_report.compute(last_year)["categories"] if c["code"]}
    assert by_category["外務省"] == (None,) * len(national)  # nothing submitted
    assert by_category["厚生労働省"][0] == national["1"]  # its units are every submitted one
    sheet = book["回答状況"]
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4 and sheet.print_title_rows == "$1:$2"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and "令和7年度" in sheet.oddHeader.center.text
    assert [r[0] for r in sheet.iter_rows(min_row=3, values_only=True)][:2] == ["対象機関", "提出"]

    ministry = signed_in(make_web, "ministry-a")
    mine = ministry.get(f"/reports/?cycle={last_year.id}&ministry={world.ministry_b.id}").get_data(as_text=True)
    assert "結果報告（厚生労働省）" in mine and "全国" in mine and "外務省" not in mine
    assert signed_in(make_web, "agency-a").get("/reports/").status_code in (403, 404)


def test_closing_from_the_page_asks_for_confirmation(last_year, world, make_web):
    center = signed_in(make_web, "center")
    home = center.get("/").get_data(as_text=True)
    assert "締める年度点検" in home and f"/cycles/{last_year.id}/close" in home  # past due, next year opened
    page = center.get(f"/cycles/{last_year.id}/close")
    assert page.status_code == 200 and "遅延" in page.get_data(as_text=True)
    refused = center.post(f"/cycles/{last_year.id}/close", data={})
    assert refused.status_code == 422 and "チェックを入れてください" in refused.get_data(as_text=True)
    assert _reload(last_year).status == "open"
    done = center.post(f"/cycles/{last_year.id}/close", data={"confirm": "yes"})
    assert done.status_code == 303 and _reload(last_year).status == "closed"
    report = center.get(done.headers["Location"]).get_data(as_text=True)
    assert "確定" in report and "を締めました" in report
    assert "報告（確定）" in center.get("/cycles/").get_data(as_text=True)
    assert "締める年度点検" not in center.get("/").get_data(as_text=True)


def test_the_report_is_a_fixed_number_of_statements_whatever_the_units(last_year, world, count_statements):
    from agencyapp.services.cycles import add_targets
    from tests import factories

    db.session.expire_all()  # both measured from a fresh session state (the cycle and its version reloaded)
    with count_statements() as small:
        committee_report.compute(last_year)
    units = [factories.make_unit(world.ministry_b, f"more-{i}", f"追加機関{i}", 50 + i) for i in range(4)]
    users = [factories.make_user(f"more-{i}", "agency", unit=u) for i, u in enumerate(units)]
    db.session.commit()
    act(add_targets, last_year, units)
    for user, unit in zip(users[:2], units[:2], strict=True):
        submit_answers(user, submission_of(last_year, unit))
    db.session.expire_all()
    with count_statements() as large:
        figures = committee_report.compute(last_year)
    assert figures["response"]["units"] == 7 and figures["response"]["submitted"] == 4
    assert large.count == small.count, (small, large)
