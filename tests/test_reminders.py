"""督促: units chosen by their state, reminded in the app (and by mail), never twice a day with the same text."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from agencyapp.models import AuditEvent, Notification, Reminder
from agencyapp.services import DomainError, reminders
from tests.factories import PASSWORD, act, make_user
from tests.test_review import issue, submit_answers

TEXT = "提出期限が近づいています。回答と提出をお願いします。"


def _notices(user):
    return db.session.scalars(
        select(Notification.message).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()


def test_units_are_chosen_by_their_state(ctx, world):
    submit_answers(world.agency, world.submission_a)
    names = lambda selection: {t.unit.id for t in reminders.targets(world.center, world.cycle, selection)[0]}  # noqa: E731
    assert names("unsubmitted") == {world.unit_a2.id, world.unit_b.id}
    assert names("not_started") == {world.unit_a2.id, world.unit_b.id}
    assert names("draft") == set() and names("overdue_points") == set()
    rows, total = reminders.targets(world.center, world.cycle, "unsubmitted", ministry_id=world.ministry_b.id)
    assert total == 1 and rows[0].unit.id == world.unit_b.id


def test_a_reminder_reaches_each_contact_once_a_day(ctx, world):
    submit_answers(world.agency, world.submission_a)
    second = make_user("agency-b2", "agency", unit=world.unit_b)
    db.session.commit()
    done = act(reminders.send, world.center, world.cycle, "unsubmitted", TEXT)
    assert done == (2, 0)
    assert _notices(world.agency_b) == [f"【督促】{TEXT}"] and _notices(second) == [f"【督促】{TEXT}"]
    assert _notices(world.agency) == [] and len(_notices(world.agency_a2)) == 1  # A submitted: not chosen
    # The same text again today: nobody is reminded twice.
    assert act(reminders.send, world.center, world.cycle, "unsubmitted", TEXT) == (0, 2)
    assert len(_notices(world.agency_b)) == 1
    # Another text the same day is another reminder; the same text the next day reaches them again.
    assert act(reminders.send, world.center, world.cycle, "not_started", TEXT + "（再送）", [world.unit_b.id]) == (1, 0)
    with time_machine.travel(today_tokyo() + timedelta(days=1, hours=12)):
        assert act(reminders.send, world.center, world.cycle, "unsubmitted", TEXT) == (2, 0)
    rows = db.session.scalars(select(Reminder).where(Reminder.unit_id == world.unit_b.id)).all()
    assert len(rows) == 3 and {r.recipients for r in rows} == {2}  # B's two contacts each time
    events = db.session.scalars(select(AuditEvent.summary).where(AuditEvent.action == "reminder.sent")).all()
    assert any("本日すでに同じ督促を受けた2機関には送っていません" in s for s in events)


def test_overdue_points_choose_their_units(ctx, world):
    world.submission_a = submit_answers(world.agency, world.submission_a)
    issue(world, due=today_tokyo() + timedelta(days=3))
    assert reminders.targets(world.center, world.cycle, "overdue_points")[1] == 0
    with time_machine.travel(today_tokyo() + timedelta(days=5, hours=12)):
        rows, total = reminders.targets(world.center, world.cycle, "overdue_points")
        assert total == 1 and rows[0].unit.id == world.unit_a.id
        act(reminders.send, world.center, world.cycle, "overdue_points", "改善点の回答期限を過ぎています。")
    assert _notices(world.agency)[-1] == "【督促】改善点の回答期限を過ぎています。"


def test_bad_reminders_are_refused_and_change_nothing(ctx, world):
    for message, match in (("   ", "文面を入力"), ("あ" * 1001, "1000文字以内")):
        with pytest.raises(DomainError, match=match):
            act(reminders.send, world.center, world.cycle, "unsubmitted", message)
    with pytest.raises(DomainError, match="1つ以上選んで"):
        act(reminders.send, world.center, world.cycle, "unsubmitted", TEXT, [])
    with pytest.raises(DomainError, match="条件に合う機関がありません"):
        act(reminders.send, world.center, world.cycle, "draft", TEXT)
    with pytest.raises(DomainError, match="条件を選んで"):
        act(reminders.send, world.center, world.cycle, "everyone", TEXT)
    assert db.session.scalar(select(func.count()).select_from(Reminder)) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_the_center_sends_from_a_phrase_in_the_page(ctx, world, make_web):
    from agencyapp.services import improvements

    phrase = act(improvements.save_phrase, world.center, None, "期限前", TEXT, "reminder")
    web = make_web()
    web.login("center", PASSWORD)
    page = web.get(f"/reminders/?cycle={world.cycle.id}&selection=not_started").get_data(as_text=True)
    assert "条件に合う機関：<strong>3</strong>機関" in page and "期限前" in page
    base = f"/reminders/?cycle={world.cycle.id}&selection=not_started"
    unconfirmed = web.post(base, {"scope": "all", "phrase_id": str(phrase.id)})
    assert unconfirmed.status_code == 422 and "確認欄にチェック" in unconfirmed.get_data(as_text=True)
    sent = web.post(
        base, {"scope": "chosen", "unit_ids": [str(world.unit_b.id)], "phrase_id": str(phrase.id), "confirm": "1"}
    )
    assert sent.status_code == 303
    assert _notices(world.agency_b) == [f"【督促】{TEXT}"] and _notices(world.agency) == []
    page = web.get(sent.headers["Location"]).get_data(as_text=True)
    assert "1機関に督促を送りました" in page and "送った督促（1件）" in page
    agency = make_web()
    agency.login("agency-a", PASSWORD)
    assert agency.get("/reminders/").status_code in (403, 404)
    assert agency.post(base, {"scope": "all", "message": TEXT, "confirm": "1"}).status_code in (403, 404)


def test_the_units_page_shows_its_reminders(ctx, world, make_web):
    act(reminders.send, world.center, world.cycle, "unsubmitted", TEXT, [world.unit_a.id])
    web = make_web()
    web.login("ministry-a", PASSWORD)
    page = web.get(f"/oversight/units/{world.unit_a.id}?cycle={world.cycle.id}").get_data(as_text=True)
    assert "センターからの督促（新しい1件）" in page and TEXT in page
