"""Hearings and visits: the priority score, every transition and refusal, time zones, calendars, scope."""

from datetime import UTC, datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from agencyapp import priority
from agencyapp.extensions import db
from agencyapp.formatting import TOKYO, today_tokyo
from agencyapp.models import AuditEvent, Hearing, ImprovementPoint, Notification
from agencyapp.services import DomainError, StaleError
from agencyapp.services import hearings as service
from tests import factories
from tests.factories import PASSWORD, act
from tests.test_review import submit_answers

# --- the priority score: each reason moves it as documented ---------------------------------------


BASE = priority.UnitFacts(
    important_below=0, mean=3.0, last_year_mean=3.0, open_points=0, late=False, years_since_last=0
)


def with_(**changes):
    return priority.UnitFacts(**{**BASE.__dict__, **changes})


def test_a_perfect_recent_unit_scores_zero():
    assert priority.score(BASE).score == 0 and priority.score(BASE).reasons == []


@pytest.mark.parametrize(
    "changes, key, expected",
    [
        ({"important_below": 2}, "important_below", 6.0),
        ({"mean": 2.5, "last_year_mean": 2.5}, "low_mean", 5.0),
        ({"mean": 2.8, "last_year_mean": 3.0}, "drop", 2.0),
        ({"open_points": 3}, "open_points", 6.0),
        ({"late": True}, "late", 5.0),
        ({"years_since_last": 3}, "years_since", 3.0),
        ({"years_since_last": None}, "years_since", 5.0),
        ({"years_since_last": 9}, "years_since", 5.0),
    ],
)
def test_each_reason_adds_amount_times_weight(changes, key, expected):
    result = priority.score(with_(**changes))
    reason = next(r for r in result.reasons if r.key == key)
    assert reason.points == expected
    assert result.score == pytest.approx(sum(r.points for r in result.reasons))


def test_a_drop_needs_both_years_and_a_rise_is_no_reason():
    assert priority.amounts(with_(mean=2.5, last_year_mean=None))["drop"] == 0
    assert priority.amounts(with_(mean=3.0, last_year_mean=2.0))["drop"] == 0


def test_not_submitted_has_no_mean_but_counts_as_late():
    result = priority.score(with_(mean=None, late=True))
    assert {r.key for r in result.reasons} == {"late"}


def test_weights_change_the_score_and_bad_weights_keep_defaults():
    facts = with_(mean=2.0, last_year_mean=2.0)
    assert priority.score(facts).score == 10
    assert priority.score(facts, {"low_mean": 20}).score == 20
    assert priority.score(facts, {"low_mean": 0}).score == 0
    weights = priority.parse_weights({"w_low_mean": "abc", "w_drop": "-1", "w_late": "7.5", "w_open_points": "999"})
    assert (
        weights["low_mean"] == 10 and weights["drop"] == 10 and weights["late"] == 7.5 and weights["open_points"] == 2
    )


# --- services ------------------------------------------------------------------------------------------


def in_days(days, hour, minute=0):
    return today_tokyo() + timedelta(days=days), time(hour, minute)


def slot(days, start, end, place="会議室A"):
    day, start_time = in_days(days, start)
    return service.SlotInput(day, start_time, time(end, 0), place)


@pytest.fixture
def scene(ctx, world):
    world.submission_a = submit_answers(world.agency, world.submission_a)
    return world


def create(scene, unit=None, kind="hearing", user=None):
    unit = unit or scene.unit_a
    return act(service.create_hearings, user or scene.center, scene.cycle, [unit.id], kind, "", priority.WEIGHTS)[0]


def reload(hearing):
    db.session.expire_all()
    return db.session.get(Hearing, hearing.id)


def scheduled(scene, days=10, start=10, end=11, unit=None):
    hearing = create(scene, unit=unit)
    act(service.propose_slots, scene.center, hearing, [slot(days, start, end)], hearing.lock_version)
    hearing = reload(hearing)
    act(service.confirm, scene.center, hearing, hearing.slots[0].id, "", False, hearing.lock_version)
    return reload(hearing)


def test_candidates_rank_units_by_priority_with_reasons(scene):
    rows = service.candidates(scene.center, scene.cycle, priority.WEIGHTS)
    assert {r.submission.unit_id for r in rows} == {scene.unit_a.id, scene.unit_a2.id, scene.unit_b.id}
    scores = [r.priority.score for r in rows]
    assert scores == sorted(scores, reverse=True)
    submitted = next(r for r in rows if r.submission.unit_id == scene.unit_a.id)
    assert submitted.facts.important_below == 1 and submitted.facts.mean < 3
    assert {"important_below", "low_mean", "years_since"} <= {r.key for r in submitted.priority.reasons}


def test_sql_priority_orders_and_filters_as_the_priority_module_scores(scene):
    """Scored in SQL to order and filter every unit; the figures shown are the priority module's: they agree."""
    from agencyapp.services import improvements

    act(improvements.suggest_points, scene.center, scene.submission_a)
    ids = [p.id for p in db.session.scalars(select(ImprovementPoint))]
    request_row = act(
        improvements.issue_request, scene.center, scene.submission_a, ids, today_tokyo() + timedelta(days=2)
    )
    request_row.due_on = today_tokyo() - timedelta(days=2)  # two days overdue
    db.session.commit()
    last_year = factories.make_cycle([scene.unit_a, scene.unit_b], fiscal_year=2025)
    submit_answers(scene.agency, factories.submission_of(last_year, scene.unit_a), {"answer-1": "3"})
    submit_answers(scene.agency_b, scene.submission_b, {"answer-2": "1", "answer-3": "1"})
    for weights in (priority.WEIGHTS, {**priority.WEIGHTS, "low_mean": 33.3, "late": 0, "years_since": 0.7}):
        rows, total = service.candidate_page(scene.center, scene.cycle, weights)
        assert total == len(rows) == 3
        scores = [r.priority.score for r in rows]
        assert scores == sorted(scores, reverse=True), [(r.submission.unit.name, r.priority.score) for r in rows]
        threshold = scores[1]
        kept, count = service.candidate_page(scene.center, scene.cycle, weights, min_score=threshold)
        assert count == len(kept) == sum(1 for s in scores if s >= threshold)
        page, count = service.candidate_page(scene.center, scene.cycle, weights, limit=1, offset=1)
        assert count == 3 and [r.submission.id for r in page] == [rows[1].submission.id]
    by_unit = {r.submission.unit_id: r for r in service.candidates(scene.center, scene.cycle, priority.WEIGHTS)}
    assert by_unit[scene.unit_a.id].facts.open_points == 2 and by_unit[scene.unit_a.id].facts.last_year_mean
    assert by_unit[scene.unit_a2.id].facts.mean is None and by_unit[scene.unit_a2.id].facts.years_since_last is None


def test_candidate_facts_include_last_years_mean_and_open_points(scene):
    from agencyapp.services import improvements

    act(improvements.suggest_points, scene.center, scene.submission_a)
    ids = [p.id for p in db.session.scalars(select(ImprovementPoint))]
    act(improvements.issue_request, scene.center, scene.submission_a, ids, today_tokyo() + timedelta(days=5))
    last_year = factories.make_cycle([scene.unit_a], fiscal_year=2025)
    submit_answers(scene.agency, factories.submission_of(last_year, scene.unit_a), {"answer-1": "3", "answer-87": "3"})
    row = next(
        r
        for r in service.candidates(scene.center, scene.cycle, priority.WEIGHTS)
        if r.submission.unit_id == scene.unit_a.id
    )
    assert row.facts.waiting_points == 2  # issued for five days from now: open, not yet overdue
    assert row.facts.last_year_mean > row.facts.mean
    assert any(r.key == "drop" for r in row.priority.reasons)


def test_create_records_why_and_refuses_a_second_active_hearing(scene):
    hearing = create(scene)
    assert hearing.status == "candidate" and hearing.selection_reason.startswith("優先度")
    assert hearing.priority_reasons and len(hearing.documents) >= 5
    with pytest.raises(DomainError, match="既にこの年度"):
        create(scene)
    with pytest.raises(DomainError, match="1つ以上"):
        act(service.create_hearings, scene.center, scene.cycle, [], "hearing", "", priority.WEIGHTS)
    with pytest.raises(DomainError, match="種別"):
        act(service.create_hearings, scene.center, scene.cycle, [scene.unit_b.id], "party", "", priority.WEIGHTS)
    outsider = factories.make_unit(scene.ministry_b, "outside", "対象外機関")
    db.session.commit()
    with pytest.raises(DomainError, match="対象でない"):
        act(service.create_hearings, scene.center, scene.cycle, [outsider.id], "visit", "", priority.WEIGHTS)


@pytest.mark.parametrize(
    "slots, message",
    [
        ([], "1つ以上"),
        ([slot(-1, 10, 11)], "過去"),
        ([slot(3, 11, 10)], "終了時刻"),
        ([slot(3, 10, 12), slot(3, 11, 13)], "重なって"),
        ([slot(i + 1, 10, 11) for i in range(6)], "5つまで"),
    ],
)
def test_bad_slots_are_refused_and_nothing_changes(scene, slots, message):
    hearing = create(scene)
    with pytest.raises(DomainError, match=message):
        act(service.propose_slots, scene.center, hearing, slots, hearing.lock_version)
    hearing = reload(hearing)
    assert hearing.status == "candidate" and hearing.slots == []


def test_the_full_lifecycle_with_notifications_and_history(scene):
    hearing = create(scene)
    act(service.propose_slots, scene.center, hearing, [slot(7, 10, 11), slot(8, 14, 15)], hearing.lock_version)
    hearing = reload(hearing)
    assert hearing.status == "proposing"
    act(service.pick_slot, scene.agency, hearing, hearing.slots[1].id, "午後が都合よい", hearing.lock_version)
    hearing = reload(hearing)
    assert [s.chosen for s in hearing.slots] == [False, True]
    act(service.confirm, scene.center, hearing, hearing.slots[1].id, "", False, hearing.lock_version)
    hearing = reload(hearing)
    assert hearing.status == "scheduled" and hearing.place == "会議室A"
    act(
        service.save_record,
        scene.center,
        hearing,
        "情報 太郎",
        "年金 花子",
        "議事の要旨",
        "内部の所感",
        hearing.lock_version,
    )
    hearing = reload(hearing)
    assert hearing.status == "held"
    finding = act(service.add_finding, scene.center, hearing, 87, "委託先の調査記録がない")
    point = act(service.finding_to_point, scene.center, hearing, finding)
    assert point.status == "draft" and point.source == "hearing" and point.submission_id == scene.submission_a.id
    with pytest.raises(DomainError, match="既に改善点"):
        act(service.finding_to_point, scene.center, hearing, finding)
    act(service.publish_report, scene.center, reload(hearing), reload(hearing).lock_version)
    assert reload(hearing).status == "reported"
    kinds = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == scene.agency.id).order_by(Notification.id)
    ).all()
    assert kinds == ["hearing_proposed", "hearing_scheduled", "hearing_reported"]
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "hearing")))
    assert {
        "hearing.selected",
        "hearing.slots_proposed",
        "hearing.slot_picked",
        "hearing.confirmed",
        "hearing.recorded",
        "hearing.finding_added",
        "hearing.finding_to_point",
        "hearing.reported",
    } <= actions


def test_agency_counter_proposal_can_be_confirmed(scene):
    hearing = create(scene)
    act(service.propose_slots, scene.center, hearing, [slot(7, 10, 11)], hearing.lock_version)
    hearing = reload(hearing)
    act(
        service.counter_propose,
        scene.agency,
        hearing,
        [slot(9, 15, 16, "オンライン")],
        "7日は不在です",
        hearing.lock_version,
    )
    hearing = reload(hearing)
    theirs = next(s for s in hearing.slots if s.proposed_by == "agency")
    with pytest.raises(DomainError, match="提示されている候補ではありません"):
        act(service.pick_slot, scene.agency, hearing, theirs.id, "", hearing.lock_version)  # agencies pick the center's
    act(service.confirm, scene.center, hearing, theirs.id, "", False, hearing.lock_version)
    assert reload(hearing).place == "オンライン"


def test_confirming_an_unoffered_or_withdrawn_slot_is_refused(scene):
    hearing = create(scene)
    other = create(scene, unit=scene.unit_b)
    act(service.propose_slots, scene.center, other, [slot(7, 10, 11)], other.lock_version)
    act(service.propose_slots, scene.center, hearing, [slot(7, 13, 14)], hearing.lock_version)
    hearing = reload(hearing)
    old = hearing.slots[0]
    with pytest.raises(DomainError, match="提示されている候補ではありません"):
        act(service.confirm, scene.center, hearing, reload(other).slots[0].id, "", False, hearing.lock_version)
    act(service.propose_slots, scene.center, hearing, [slot(8, 13, 14)], hearing.lock_version)
    hearing = reload(hearing)
    with pytest.raises(DomainError, match="提示されている候補ではありません"):
        act(service.confirm, scene.center, hearing, old.id, "", False, hearing.lock_version)
    assert reload(hearing).status == "proposing"


def test_double_booking_is_warned_and_can_be_confirmed_knowingly(scene):
    first = scheduled(scene, days=10, start=10, end=12)
    hearing = create(scene, unit=scene.unit_b)
    act(service.propose_slots, scene.center, hearing, [slot(10, 11, 13)], hearing.lock_version)
    hearing = reload(hearing)
    with pytest.raises(service.DoubleBooking) as caught:
        act(service.confirm, scene.center, hearing, hearing.slots[0].id, "", False, hearing.lock_version)
    assert caught.value.details["conflicts"][0].id == first.id and "年金局" in caught.value.message
    assert reload(hearing).status == "proposing"
    act(service.confirm, scene.center, hearing, hearing.slots[0].id, "", True, hearing.lock_version)
    assert reload(hearing).status == "scheduled"


def test_reschedule_and_cancel_need_reasons(scene):
    hearing = scheduled(scene)
    with pytest.raises(DomainError, match="理由"):
        act(service.reschedule, scene.center, hearing, "", hearing.lock_version)
    act(service.reschedule, scene.center, hearing, "担当者の出張のため", hearing.lock_version)
    hearing = reload(hearing)
    assert hearing.status == "proposing" and hearing.starts_at is None and all(s.withdrawn for s in hearing.slots)
    with pytest.raises(DomainError, match="理由"):
        act(service.cancel, scene.center, hearing, " ", hearing.lock_version)
    act(service.cancel, scene.center, hearing, "機関の事情により", hearing.lock_version)
    hearing = reload(hearing)
    assert hearing.status == "cancelled"
    with pytest.raises(DomainError, match="中止"):
        act(service.cancel, scene.center, hearing, "再度", hearing.lock_version)
    assert create(scene).status == "candidate"  # a cancelled one does not block a new selection


def test_stale_and_out_of_order_actions_are_refused(scene):
    hearing = create(scene)
    with pytest.raises(StaleError):
        act(service.propose_slots, scene.center, hearing, [slot(7, 10, 11)], hearing.lock_version - 1)
    with pytest.raises(DomainError, match="日時を確定"):
        act(service.confirm, scene.center, hearing, 1, "", False, hearing.lock_version)
    with pytest.raises(DomainError, match="記録"):
        act(service.save_record, scene.center, hearing, "", "", "議事", "", hearing.lock_version)
    with pytest.raises(DomainError, match="報告を公開"):
        act(service.publish_report, scene.center, hearing, hearing.lock_version)


# --- time zones and calendars ---------------------------------------------------------------------


def test_a_10_00_jst_slot_is_10_00_on_the_page_in_the_ics_and_in_the_reminder(scene, make_web):
    hearing = scheduled(scene, days=2, start=10, end=11)
    day = today_tokyo() + timedelta(days=2)
    assert hearing.starts_at == datetime.combine(day, time(10), TOKYO).astimezone(UTC)
    assert hearing.starts_at.hour == 1  # stored in UTC
    web = factories_web(make_web, "agency-a")
    page = web.get(f"/hearings/{hearing.id}").get_data(as_text=True)
    assert f"{day.year}年{day.month}月{day.day}日 10:00〜11:00（日本時間）" in page
    response = web.get(f"/hearings/{hearing.id}.ics")
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    event = next(c for c in Calendar.from_ical(response.data).walk("VEVENT"))
    start = event.decoded("dtstart")
    assert (start.hour, start.minute, start.utcoffset()) == (10, 0, timedelta(hours=9))
    assert str(start.tzinfo) == "Asia/Tokyo"
    assert b"DTSTART;TZID=Asia/Tokyo:" + day.strftime("%Y%m%d").encode() + b"T100000" in response.data
    assert b"BEGIN:VTIMEZONE" in response.data
    sent = act(service.send_reminders, now=datetime.now(UTC), days=3)
    assert [h.id for h in sent] == [hearing.id]
    message = db.session.scalar(
        select(Notification.message).where(
            Notification.kind == "hearing_reminder", Notification.user_id == scene.agency.id
        )
    )
    assert f"{day.month}月{day.day}日 10:00〜11:00" in message
    assert act(service.send_reminders, now=datetime.now(UTC), days=3) == []  # once only


def test_reminders_wait_until_the_configured_days(scene):
    scheduled(scene, days=10)
    assert act(service.send_reminders, now=datetime.now(UTC), days=3) == []


def factories_web(make_web, login_id):
    web = make_web()
    web.login(login_id, PASSWORD)
    return web


def test_calendar_feed_lists_the_users_hearings_and_needs_the_signed_url(scene, make_web, client):
    hearing = scheduled(scene)
    scheduled(scene, unit=scene.unit_b, days=12)
    web = factories_web(make_web, "agency-a")
    page = web.get("/hearings/").get_data(as_text=True)
    import re

    path = re.search(r"http://localhost(/hearings/feed/[^<\s]+)", page).group(1)
    feed = client.get(path)
    assert feed.status_code == 200
    events = list(Calendar.from_ical(feed.data).walk("VEVENT"))
    assert [str(e["uid"]) for e in events] == [f"hearing-{hearing.id}@jukinet-selfcheck.invalid"]
    assert client.get(path.replace(".ics", "0.ics")).status_code == 404
    user_id = path.split("/")[3]
    assert client.get(f"/hearings/feed/{user_id}/{'0' * 40}.ics").status_code == 404


# --- scope -------------------------------------------------------------------------------------------------


def test_agency_sees_only_its_own_hearings_and_nothing_of_candidates(scene, make_web):
    candidate = create(scene)
    other = scheduled(scene, unit=scene.unit_b)
    web = factories_web(make_web, "agency-a")
    assert web.get(f"/hearings/{candidate.id}").status_code == 404  # still a center-internal candidate
    assert web.get(f"/hearings/{other.id}").status_code == 404
    assert web.get(f"/hearings/{other.id}.ics").status_code == 404
    assert "領事局" not in web.get("/hearings/").get_data(as_text=True)
    act(service.propose_slots, scene.center, candidate, [slot(7, 10, 11)], candidate.lock_version)
    page = web.get(f"/hearings/{candidate.id}").get_data(as_text=True)
    assert "この日時を選ぶ" in page and "優先度" not in page  # the selection reason stays internal


def test_ministry_reads_its_units_hearings_and_writes_nothing(scene, make_web):
    own = scheduled(scene)
    foreign = scheduled(scene, unit=scene.unit_b, days=12)
    web = factories_web(make_web, "ministry-a")
    page = web.get(f"/hearings/{own.id}").get_data(as_text=True)
    assert "年金局" in page and "<form" not in page.split("</header>")[1].split("<footer")[0]
    assert web.get(f"/hearings/{foreign.id}").status_code == 404
    for action in ("pick", "confirm", "record", "publish", "cancel"):
        assert web.post(f"/hearings/{own.id}/{action}", {"lock_version": own.lock_version}).status_code == 403
    assert reload(own).status == "scheduled"


def test_minutes_and_findings_are_hidden_until_reported_and_internal_notes_always(scene, make_web):
    hearing = scheduled(scene)
    act(service.save_record, scene.center, hearing, "", "", "公開前の議事録XYZ", "内部メモQWE", hearing.lock_version)
    hearing = reload(hearing)
    act(service.add_finding, scene.center, hearing, None, "所見ABC")
    agency, ministry = factories_web(make_web, "agency-a"), factories_web(make_web, "ministry-a")
    for web in (agency, ministry):
        page = web.get(f"/hearings/{hearing.id}").get_data(as_text=True)
        assert "公開前の議事録XYZ" not in page and "所見ABC" not in page and "内部メモQWE" not in page
    act(service.publish_report, scene.center, hearing, reload(hearing).lock_version)
    for web in (agency, ministry):
        page = web.get(f"/hearings/{hearing.id}").get_data(as_text=True)
        assert "公開前の議事録XYZ" in page and "所見ABC" in page and "内部メモQWE" not in page


def test_other_roles_cannot_manage_hearings(scene, make_web):
    hearing = create(scene)
    web = factories_web(make_web, "agency-a")
    web.get("/hearings/")
    assert web.get("/hearings/candidates").status_code == 403
    assert web.post("/hearings/create", {"unit_ids": [scene.unit_a.id], "kind": "hearing"}).status_code == 403
    assert web.post(f"/hearings/{hearing.id}/propose", {"lock_version": hearing.lock_version}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Hearing)) == 1


def test_bad_slot_over_http_keeps_the_input_and_shows_the_message(scene, make_web):
    hearing = create(scene)
    web = factories_web(make_web, "center")
    web.get(f"/hearings/{hearing.id}")
    day = (today_tokyo() + timedelta(days=5)).isoformat()
    response = web.post(
        f"/hearings/{hearing.id}/propose",
        {
            "lock_version": hearing.lock_version,
            "day-1": day,
            "start-1": "15:00",
            "end-1": "14:00",
            "place-1": "会議室B",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "終了時刻は開始時刻より後" in page and 'value="会議室B"' in page
    assert reload(hearing).status == "candidate"


# --- bounded statements ---------------------------------------------------------------------------------


def test_candidates_and_season_pages_use_a_fixed_number_of_statements(scene, make_web, count_statements):
    web = factories_web(make_web, "center")
    scheduled(scene)
    urls = ["/hearings/candidates", "/hearings/"]
    small = []
    for url in urls:
        with count_statements() as counter:
            assert web.get(url).status_code == 200
        small.append(counter)
    units = [factories.make_unit(scene.ministry_a, f"h-{i}", f"追加機関{i:02d}", 300 + i) for i in range(30)]
    db.session.commit()
    from agencyapp.services.cycles import add_targets

    act(add_targets, scene.cycle, units)
    for unit in units[:4]:
        scheduled(scene, unit=unit, days=20 + units.index(unit))
    for url, before in zip(urls, small, strict=True):
        with count_statements() as after:
            assert web.get(url).status_code == 200
        assert after.count == before.count, (url, before, after)


def test_candidates_are_paginated(scene, make_web):
    units = [factories.make_unit(scene.ministry_a, f"p-{i}", f"頁機関{i:02d}", 500 + i) for i in range(55)]
    db.session.commit()
    from agencyapp.services.cycles import add_targets

    act(add_targets, scene.cycle, units)
    web = factories_web(make_web, "center")
    first = web.get("/hearings/candidates").get_data(as_text=True)
    assert "1 / 2 ページ" in first and first.count('name="unit_ids"') == 50
    second = web.get("/hearings/candidates?page=2").get_data(as_text=True)
    assert "2 / 2 ページ" in second and second.count('name="unit_ids"') == 8


def test_fresh_points_are_not_overdue_and_past_due_ones_are(scene):
    """Points issued a minute ago wait for their due date; only those past it count as overdue."""
    from agencyapp.models import ImprovementRequest
    from agencyapp.services import improvements

    act(improvements.suggest_points, scene.center, scene.submission_a)
    ids = [p.id for p in db.session.scalars(select(ImprovementPoint))]
    request_row = act(
        improvements.issue_request, scene.center, scene.submission_a, ids, today_tokyo() + timedelta(days=5)
    )

    def facts():
        rows = service.candidates(scene.center, scene.cycle, priority.WEIGHTS)
        return next(r for r in rows if r.submission.unit_id == scene.unit_a.id)

    row = facts()
    assert (row.facts.open_points, row.facts.waiting_points) == (0, 2)
    assert "open_points" not in {r.key for r in row.priority.reasons}
    import time_machine

    assert db.session.get(ImprovementRequest, request_row.id).due_on == today_tokyo() + timedelta(days=5)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=6)):  # the due date has passed
        row = facts()
    assert (row.facts.open_points, row.facts.waiting_points) == (2, 0)
    reasons = {r.key: r for r in row.priority.reasons}
    assert reasons["open_points"].label == "回答期限を過ぎた未回答の改善点" and reasons["open_points"].points == 4
