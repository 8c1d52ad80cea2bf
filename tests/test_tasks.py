"""The task queue: notification mail sent outside the request with retries and a visible state, the
daily reminders scheduled by the queue, and a real consumer process draining a SQLite queue."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from agencyapp import tasks
from agencyapp.extensions import db
from agencyapp.models import AuditEvent, Notification
from agencyapp.services import notifications
from tests import factories
from tests.factories import PASSWORD, act
from tests.test_mail import free_port

ROOT = Path(__file__).resolve().parents[1]


def _notify(user):
    act(notifications.notify, [user], "point_closed", "改善点を完了にしました", "/improvements/")
    db.session.expire_all()
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()[-1]


def _mail_user(login_id="mail-user"):
    user = factories.make_user(login_id, "center")
    user.email = f"{login_id}@example.jp"
    db.session.commit()
    return user


def test_a_notification_mail_is_sent_by_the_queue_after_the_commit_and_says_sent(ctx, smtp_config):
    row = _notify(_mail_user())
    assert (row.mail_state, row.mail_attempts) == ("sent", 1)
    assert [m["To"] for m in smtp_config.handler.messages()] == ["mail-user@example.jp"]


def test_without_smtp_nothing_is_queued_and_the_notification_stays(ctx, app, monkeypatch):
    monkeypatch.delitem(app.config, "SMTP_HOST", raising=False)
    row = _notify(_mail_user())
    assert row.mail_state == "" and row.message == "改善点を完了にしました"


def test_a_failing_mail_is_retried_then_marked_failed_shown_to_administrators_and_resent(
    ctx, app, make_web, monkeypatch, smtp_server
):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # nothing listens: every try fails
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 2)
    user = _mail_user()
    row = _notify(user)  # the first try (immediately, after the commit) failed
    assert row.mail_state == "pending" and row.mail_attempts == 1 and "127.0.0.1" in row.mail_error
    for last in (False, False, True):  # the queue's later tries; the last one gives up
        act(notifications.deliver_mail, row.id, last)
    db.session.expire_all()
    row = db.session.get(Notification, row.id)
    assert (row.mail_state, row.mail_attempts) == ("failed", 4)

    factories.make_user("admin-m", "admin")
    db.session.commit()
    admin = make_web()
    admin.login("admin-m", PASSWORD)
    page = admin.get("/admin/mail").get_data(as_text=True)
    assert "送信失敗" in page and "mail-user@example.jp" in page and "改善点を完了にしました" in page

    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)  # the server is back
    assert admin.post(f"/admin/mail/{row.id}/resend").status_code == 303
    db.session.expire_all()
    assert db.session.get(Notification, row.id).mail_state == "sent"
    assert len(smtp_server.handler.messages()) == 1
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "mail.resent")) is not None
    assert "未送信のメールはありません" in admin.get("/admin/mail").get_data(as_text=True)


def test_only_administrators_see_the_mail_state(ctx, world, make_web):
    for login_id in ("center", "agency-a", "ministry-a"):
        web = make_web()
        web.login(login_id, PASSWORD)
        assert web.get("/admin/mail").status_code == 403


def test_the_reminders_are_a_periodic_task_of_the_queue_at_eight_in_japan_and_remind_once(ctx, world):
    wrapper = tasks.send_hearing_reminders
    assert wrapper.task_class in tasks.huey._registry._periodic_tasks
    task = wrapper.s()
    assert task.validate_datetime(datetime(2026, 12, 1, 23, 0))  # 08:00 in Japan, the queue's clock is UTC
    assert not task.validate_datetime(datetime(2026, 12, 1, 8, 0))

    from agencyapp.lifecycles import HearingState
    from agencyapp.models import Hearing

    start = datetime.now(UTC) + timedelta(days=2)
    hearing = Hearing(
        cycle_id=world.cycle.id,
        unit_id=world.unit_a.id,
        kind="hearing",
        status=HearingState.SCHEDULED.value,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        selection_reason="テスト",
        staff_id=world.center.id,
        created_by_id=world.center.id,
    )
    db.session.add(hearing)
    db.session.commit()

    def reminders():
        db.session.expire_all()
        rows = db.session.scalars(select(Notification).where(Notification.kind == "hearing_reminder")).all()
        return sorted(row.user_id for row in rows)

    tasks.send_hearing_reminders.call_local()
    assert reminders() == sorted([world.agency.id, world.center.id])  # the unit's contact and the staff member
    tasks.send_hearing_reminders.call_local()  # a second run (another host, a retry) reminds nobody again
    assert reminders() == sorted([world.agency.id, world.center.id])


def test_a_consumer_process_sends_what_the_web_process_queued(tmp_path, smtp_server):
    """What `make run` starts: the queue in a SQLite file, drained by huey_consumer."""
    env = {
        **os.environ,
        "AGENCYAPP_ENV": "development",
        "AGENCYAPP_SECRET_KEY": "consumer-test",
        "AGENCYAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}",
        "AGENCYAPP_TASKS_SQLITE": str(tmp_path / "tasks.sqlite3"),
        "AGENCYAPP_SMTP_HOST": "127.0.0.1",
        "AGENCYAPP_SMTP_PORT": str(smtp_server.port),
        "AGENCYAPP_MAIL_FROM": "jukinet-check@example.jp",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("AGENCYAPP_REDIS_URL", None)
    env.pop("TEST_DATABASE_URL", None)
    queue = """
from agencyapp import create_app
from agencyapp.extensions import db
from agencyapp.models.base import Base
from agencyapp.services.notifications import notify
from agencyapp.unit_of_work import unit_of_work
from tests import factories
app = create_app()
with app.app_context():
    Base.metadata.create_all(db.engine)
    user = factories.make_user("queued", "center")
    user.email = "queued@example.jp"
    db.session.commit()
    with unit_of_work():
        notify([user], "point_closed", "キューから送るメール", "/")
"""
    done = subprocess.run([sys.executable, "-c", queue], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert smtp_server.handler.messages() == []  # queued, not sent by the web process
    consumer = subprocess.Popen(
        [Path(sys.executable).parent / "huey_consumer", "agencyapp.tasks.huey", "-w", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if smtp_server.handler.messages():
                break
            time.sleep(0.2)
    finally:
        consumer.terminate()
        consumer.wait(10)
    messages = smtp_server.handler.messages()
    assert len(messages) == 1 and messages[0]["To"] == "queued@example.jp"
