"""Ministry oversight and the center's view of it: scope, never a write, charts, exports, read log."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from agencyapp import charts, scoring
from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from agencyapp.models import ImprovementPoint, ReadLog
from agencyapp.services import hearings as hearing_service
from agencyapp.services import improvements as points
from agencyapp.services import oversight, review
from agencyapp.services.selfcheck import load_state
from tests import factories
from tests.factories import PASSWORD, act
from tests.test_hearings import slot
from tests.test_review import submit_answers


def web_for(make_web, login_id):
    web = make_web()
    web.login(login_id, PASSWORD)
    return web


@pytest.fixture
def scene(ctx, world):
    """Both units of ministry A and the unit of ministry B submitted; points, notes, drafts, a hearing."""
    world.submission_a = submit_answers(world.agency, world.submission_a)
    world.submission_b = submit_answers(world.agency_b, world.submission_b)
    act(points.suggest_points, world.center, world.submission_a)
    ids = [p.id for p in db.session.scalars(select(ImprovementPoint))]
    world.request = act(points.issue_request, world.center, world.submission_a, ids, today_tokyo() + timedelta(days=20))
    act(points.add_point, world.center, world.submission_a, 4, "下書きの指摘DRAFT", "")
    act(points.add_point, world.center, world.submission_a, 5, '=HYPERLINK("http://evil.example","x")', "")
    act(review.add_note, world.center, world.submission_a, "内部メモNOTE")
    hearing = act(hearing_service.create_hearings, world.center, world.cycle, [world.unit_a.id], "visit", "", {})[0]
    act(hearing_service.propose_slots, world.center, hearing, [slot(5, 10, 11)], hearing.lock_version)
    db.session.refresh(hearing)
    act(hearing_service.confirm, world.center, hearing, hearing.slots[0].id, "", False, hearing.lock_version)
    db.session.refresh(hearing)
    act(
        hearing_service.save_record,
        world.center,
        hearing,
        "",
        "",
        "訪問の議事録MINUTES",
        "訪問の内部メモSECRET",
        hearing.lock_version,
    )
    db.session.refresh(hearing)
    act(hearing_service.publish_report, world.center, hearing, hearing.lock_version)
    world.hearing = hearing
    return world


SECRETS = ("下書きの指摘DRAFT", "内部メモNOTE", "訪問の内部メモSECRET", "HYPERLINK")


def test_ministry_home_lists_its_units_with_attention_first(scene, make_web):
    page = web_for(make_web, "ministry-a").get("/").get_data(as_text=True)
    assert "厚生労働省の各機関の状況" in page and "閲覧のみ" in page
    assert "年金局" in page and "雇用保険課" in page and "旅券" not in page
    body = page.split('id="units-title"')[1]
    assert body.index("年金局") < body.index("雇用保険課")  # important items not met, open points
    assert "重要点検項目 未達成" in body


def test_center_sees_every_ministry_and_can_filter(scene, make_web):
    web = web_for(make_web, "center")
    page = web.get("/oversight/").get_data(as_text=True)
    assert "年金局" in page and "旅券" in page
    filtered = web.get(f"/oversight/?ministry={scene.ministry_b.id}").get_data(as_text=True)
    assert "旅券" in filtered and "年金局" not in filtered
    assert web.get("/oversight/?ministry=999999").status_code == 404


def test_ministry_cannot_widen_its_scope_with_a_filter(scene, make_web):
    page = web_for(make_web, "ministry-a").get(f"/oversight/?ministry={scene.ministry_b.id}").get_data(as_text=True)
    assert "旅券" not in page and "年金局" in page


def test_drill_down_shows_issued_points_and_the_published_report_read_only(scene, make_web):
    web = web_for(make_web, "ministry-a")
    page = web.get(f"/oversight/units/{scene.unit_a.id}").get_data(as_text=True)
    assert "閲覧のみ" in page and "改善点（2件）" in page
    assert f"/hearings/{scene.hearing.id}" in page and "報告あり" in page
    for secret in SECRETS:
        assert secret not in page
    for url in (
        f"/oversight/units/{scene.unit_a.id}",
        f"/hearings/{scene.hearing.id}",
        f"/improvements/points/{scene.request.points[0].id}",
        f"/submissions/{scene.submission_a.id}",
    ):
        html = web.get(url).get_data(as_text=True)
        main = html.split('<main id="main"')[1].split("</main>")[0]
        assert 'method="post"' not in main, url
        assert not any(secret in html for secret in SECRETS), url


def test_another_ministrys_units_are_404_on_every_get_route(scene, make_web, app):
    web = web_for(make_web, "ministry-a")
    other_point = act(
        points.issue_request,
        scene.center,
        scene.submission_b,
        [act(points.add_point, scene.center, scene.submission_b, 3, "外務省への指摘", "").id],
        today_tokyo() + timedelta(days=9),
    ).points[0]
    urls = [
        f"/oversight/units/{scene.unit_b.id}",
        f"/submissions/{scene.submission_b.id}",
        f"/submissions/{scene.submission_b.id}/submit",
        f"/improvements/points/{other_point.id}",
        f"/improvements/requests/{other_point.request_id}",
    ]
    for url in urls:
        assert web.get(url).status_code in (403, 404), url
    assert web.get(f"/oversight/units/{scene.unit_b.id}").status_code == 404


def test_the_url_map_offers_the_ministry_no_write(scene, make_web, app):
    """Every non-GET route but sign-out, own password and own notifications answers 403 or 404."""
    web = web_for(make_web, "ministry-a")
    web.get("/")
    # Besides its own session, password and notifications: asking for an export of what it reads.
    allowed = {
        "auth.login",
        "auth.logout",
        "auth.password",
        "notifications.mark_read",
        "notifications.mark_all_read",
        "oversight.export_xlsx",
    }
    values = {
        "submission_id": scene.submission_a.id,
        "number": 1,
        "point_id": scene.request.points[0].id,
        "hearing_id": scene.hearing.id,
        "finding_id": 1,
        "phrase_id": 1,
        "request_id": scene.request.id,
        "notification_id": 1,
        "attachment_id": 1,
        "unit_id": scene.unit_a.id,
    }
    adapter = app.url_map.bind("localhost")
    checked = 0
    for rule in app.url_map.iter_rules():
        methods = rule.methods - {"GET", "HEAD", "OPTIONS"}
        if not methods or rule.endpoint in allowed:
            continue
        url = adapter.build(rule.endpoint, {a: values.get(a, 1) for a in rule.arguments})
        status = web.post(url, {"lock_version": 1, "reason": "x", "body": "x"}).status_code
        assert status in (403, 404), (rule.endpoint, status)
        checked += 1
    assert checked > 25


# --- charts: the numbers drawn are the scoring module's --------------------------------------------


def test_unit_chart_draws_the_scoring_modules_numbers(scene, make_web):
    state = load_state(scene.submission_a)
    expected = {
        code: s.mean
        for code, s in scoring.compute(
            state.structure.questions, state.values, state.applies, state.structure.version.scale, state.important_goals
        ).by_category.items()
    }
    page = web_for(make_web, "ministry-a").get(f"/oversight/units/{scene.unit_a.id}").get_data(as_text=True)
    chart = page.split('data-chart="unit-chart"')[1].split("</svg>")[0]
    drawn = re.findall(r'data-series="厚生労働省 年金局" data-label="(\d+)\. [^"]*" data-value="([\d.]*)"', chart)
    assert drawn and {code: float(v) for code, v in drawn if v} == {c: v for c, v in expected.items() if v is not None}


def _pooled_by_scoring(*submissions):
    """Per 大分類 means the scoring module gives over every scored answer of the submissions, pooled."""
    pooled = {}
    for submission in submissions:
        state = load_state(submission)
        scores = scoring.compute(
            state.structure.questions, state.values, state.applies, state.structure.version.scale, state.important_goals
        )
        for code, score in scores.by_category.items():
            total = pooled.setdefault(code, scoring.Score(max_points=score.max_points))
            total.count, total.points, total.full = (
                total.count + score.count,
                total.points + score.points,
                total.full + score.full,
            )
    return {code: s.mean for code, s in pooled.items() if s.mean is not None}


def test_sql_means_equal_the_scoring_modules_for_the_same_answers(scene):
    """The figures summed in SQL never disagree with the scoring module over the same answers."""
    # A second unit of ministry A answers differently, so pooling by answer count matters.
    lows = {f"answer-{n}": "1" for n in range(1, 60, 3)}
    a2 = submit_answers(scene.agency_a2, scene.submission_a2, lows)
    own, national = oversight.category_comparison(scene.ministry_user, scene.cycle)
    assert own == _pooled_by_scoring(scene.submission_a, a2)
    assert national == _pooled_by_scoring(scene.submission_a, a2, scene.submission_b)
    assert own != national
    per_unit = oversight.category_means(scene.cycle.id, lambda column: column == scene.unit_b.id)
    assert per_unit == _pooled_by_scoring(scene.submission_b)


def test_bar_geometry_is_proportional_to_the_value():
    chart = charts.bar_chart("t", [("1", "一"), ("2", "二")], [("A", {"1": 3.0, "2": 1.5}), ("B", {"1": None})])
    a1, b1 = chart.groups[0].bars
    a2 = chart.groups[1].bars[0]
    assert a1.width == chart.plot_width and a2.width == pytest.approx(chart.plot_width / 2, abs=0.1)
    assert b1.value is None and b1.width == 0


def test_year_over_year_appears_with_several_cycles(scene, make_web):
    last_year = factories.make_cycle([scene.unit_a, scene.unit_a2], fiscal_year=2025)
    submit_answers(scene.agency, factories.submission_of(last_year, scene.unit_a), {"answer-1": "3"})
    page = web_for(make_web, "ministry-a").get(f"/oversight/?cycle={scene.cycle.id}").get_data(as_text=True)
    assert 'data-chart="trend-chart"' in page and "令和7年度（2025年度）" in page and "令和8年度（2026年度）" in page


# --- who has looked -------------------------------------------------------------------------------------


def test_openings_from_outside_the_unit_are_recorded_and_shown_to_the_unit_and_the_center(scene, make_web):
    agency = web_for(make_web, "agency-a")
    agency.get(f"/submissions/{scene.submission_a.id}")  # its own: not recorded
    web_for(make_web, "ministry-a").get(f"/submissions/{scene.submission_a.id}")
    center = web_for(make_web, "center")
    center.get(f"/review/submissions/{scene.submission_a.id}")
    logs = db.session.scalars(select(ReadLog).order_by(ReadLog.id)).all()
    assert [(log.user_id, log.page) for log in logs] == [
        (scene.ministry_user.id, "selfcheck"),
        (scene.center.id, "review"),
    ]
    own_page = agency.get(f"/submissions/{scene.submission_a.id}").get_data(as_text=True)
    assert "閲覧の記録" in own_page and "ministry-a" in own_page and "省統括課" in own_page
    assert "閲覧の記録" in center.get(f"/review/submissions/{scene.submission_a.id}").get_data(as_text=True)
    assert "閲覧の記録" not in web_for(make_web, "ministry-a").get(f"/submissions/{scene.submission_a.id}").get_data(
        as_text=True
    )


def test_reloads_within_half_an_hour_are_one_view(scene, make_web):
    import time_machine

    from agencyapp.formatting import now_utc

    center = web_for(make_web, "center")
    url = f"/review/submissions/{scene.submission_a.id}"
    start = now_utc()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            center.get(url)  # reloads, and the redirects after each action
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        center.get(url)  # still the same look
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        center.get(url)  # more than 30 minutes after the first: a new view
    logs = db.session.scalars(select(ReadLog).where(ReadLog.user_id == scene.center.id)).all()
    assert len(logs) == 2


# --- bounded statements -------------------------------------------------------------------------------


def test_ministry_home_statement_count_does_not_grow_with_units(scene, make_web, count_statements):
    """Neither when the figures are computed (after a change) nor when they are kept."""
    from agencyapp.services import figure_cache

    web = web_for(make_web, "ministry-a")
    figure_cache.clear()
    with count_statements() as small_cold:
        assert web.get("/").status_code == 200
    with count_statements() as small:
        assert web.get("/").status_code == 200
    from agencyapp.services.cycles import add_targets

    units = [factories.make_unit(scene.ministry_a, f"o-{i}", f"監督対象{i:02d}", 400 + i) for i in range(40)]
    db.session.commit()
    act(add_targets, scene.cycle, units)
    for unit in units[:5]:
        user = factories.make_user(f"ou-{unit.code}", "agency", unit=unit)
        db.session.commit()
        sub = submit_answers(user, factories.submission_of(scene.cycle, unit))
        act(points.suggest_points, scene.center, sub)
    with count_statements() as large_cold:
        assert web.get("/").status_code == 200
    with count_statements() as large:
        assert web.get("/").status_code == 200
    assert large_cold.count == small_cold.count, (small_cold, large_cold)
    assert large.count == small.count < small_cold.count, (small, large)


def test_center_oversight_list_is_paginated(scene, make_web):
    from agencyapp.services.cycles import add_targets

    units = [factories.make_unit(scene.ministry_b, f"pg-{i}", f"頁機関{i:02d}", 600 + i) for i in range(50)]
    db.session.commit()
    act(add_targets, scene.cycle, units)
    web = web_for(make_web, "center")
    first = web.get("/oversight/").get_data(as_text=True)
    assert "1 / 2 ページ" in first and "合計" in first and "53機関" in first
    assert "2 / 2 ページ" in web.get("/oversight/?page=2").get_data(as_text=True)


def test_sql_totals_and_pages_agree_with_the_rows_themselves(scene):
    """Totals are one aggregate over every unit; the pages, ordered in SQL, hold each unit once, attention first."""
    from agencyapp.services.cycles import add_targets

    units = [factories.make_unit(scene.ministry_a, f"t-{i}", f"合計機関{i:02d}", 700 + i) for i in range(7)]
    db.session.commit()
    act(add_targets, scene.cycle, units)
    every = oversight.unit_rows(scene.center, scene.cycle)
    pages = [oversight.unit_rows(scene.center, scene.cycle, limit=3, offset=k) for k in range(0, len(every), 3)]
    assert [r.unit.id for page in pages for r in page] == [r.unit.id for r in every]
    assert [len(r.attention) for r in every] == sorted((len(r.attention) for r in every), reverse=True)
    submitted = [r.submission.score_mean for r in every if r.submission.score_mean is not None]
    assert oversight.totals(scene.center, scene.cycle) == {
        "units": len(every),
        "submitted": len(submitted),
        "mean": round(sum(submitted) / len(submitted), 2),
        "important_not_met": sum(1 for r in every if r.submission.important_met is False),
        "earlier_not_met": sum(1 for r in every if r.submission.earlier_met is False),
        "open_points": sum(r.open_points for r in every),
        "overdue_points": sum(r.overdue_points for r in every),
        "attention": sum(1 for r in every if r.attention),
    }
    assert oversight.totals(scene.ministry_user, scene.cycle)["units"] == len(units) + 2


def test_open_points_of_earlier_years_are_carried(scene, make_web):
    """A point issued last year and still open counts this year and is listed with its origin."""
    last_year = factories.make_cycle([scene.unit_a2], fiscal_year=2025)
    old = submit_answers(scene.agency_a2, factories.submission_of(last_year, scene.unit_a2))
    due = today_tokyo() + timedelta(days=3)
    carried = act(
        points.issue_request,
        scene.center,
        old,
        [act(points.add_point, scene.center, old, 2, "昨年度からの指摘CARRY", "").id],
        due,
    ).points[0]
    closed = act(
        points.issue_request,
        scene.center,
        old,
        [act(points.add_point, scene.center, old, 3, "完了済みの指摘DONE", "").id],
        due,
    ).points[0]
    act(points.answer_point, scene.agency_a2, closed, "計画", due, "完了しました", None, closed.lock_version)
    db.session.refresh(closed)
    act(points.close_point, scene.center, closed, "", closed.lock_version)
    web = web_for(make_web, "ministry-a")
    page = web.get(f"/oversight/units/{scene.unit_a2.id}?cycle={scene.cycle.id}").get_data(as_text=True)
    assert "昨年度からの指摘CARRY" in page and "前年度以前から継続" in page and "完了済みの指摘DONE" not in page
    row = next(r for r in oversight.unit_rows(scene.ministry_user, scene.cycle) if r.unit.id == scene.unit_a2.id)
    assert row.open_points == 1 and carried.status == "issued"


def test_figures_over_every_unit_are_computed_once_per_change_and_follow_each_change(scene, make_web, count_statements):
    """The national figures are kept between requests, and any change that moves them is seen at once."""
    web = web_for(make_web, "center")
    with count_statements() as first:
        page = web.get("/oversight/").get_data(as_text=True)
    with count_statements() as again:
        same = web.get("/oversight/").get_data(as_text=True)
    main = re.compile(r"<main.*</main>", re.S)
    assert main.search(same).group(0) == main.search(page).group(0)
    assert again.count < first.count, (first, again)
    assert "3機関（提出 2）" in page
    submit_answers(scene.agency_a2, scene.submission_a2, {"answer-1": "1"})
    after = web.get("/oversight/").get_data(as_text=True)
    assert "3機関（提出 3）" in after
    from agencyapp.services import organisations

    act(organisations.update_unit, scene.admin, scene.unit_b, "外務省 領事局旅券課（改称）", "原局", True)
    assert "領事局旅券課（改称）" in web.get("/oversight/").get_data(as_text=True)
