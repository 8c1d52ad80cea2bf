"""Work outside the request, on the huey task queue: notification mail (with retries) and the daily
hearing reminders (scheduled by the queue instead of cron).

The queue is Redis when ``AGENCYAPP_REDIS_URL`` is set (production, several hosts), else a SQLite file
beside the database (``instance/tasks.sqlite3``; ``make run`` starts its consumer). Run the consumer with
``huey_consumer agencyapp.tasks.huey`` (README). Tests run tasks at once (``huey.immediate``).
"""

import os

from flask import current_app, has_app_context
from huey import RedisHuey, SqliteHuey, crontab

from agencyapp import ROOT

MAIL_RETRIES = 6  # about an hour in all: 1, 2, 4, 8, 16 and 32 minutes apart
MAIL_FIRST_DELAY = 60


def _make_huey():
    name = os.environ.get("AGENCYAPP_TASKS_NAME") or "agencyapp"  # one queue per deployment on a shared Redis
    url = os.environ.get("AGENCYAPP_REDIS_URL")
    if url:
        return RedisHuey(name, url=url)
    path = os.environ.get("AGENCYAPP_TASKS_SQLITE") or os.path.join(ROOT, "instance", "tasks.sqlite3")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return SqliteHuey(name, filename=path)


huey = _make_huey()
_app = None


def _app_context():
    """The task's app context: the caller's (immediate mode, tests), else the consumer's own app."""
    global _app
    if has_app_context():
        return current_app.app_context()
    if _app is None:
        from agencyapp import create_app

        _app = create_app()
    return _app.app_context()


@huey.on_startup()
def _ready():
    """The consumer builds the app once as it starts, not at its first task."""
    if not has_app_context():
        _app_context()


@huey.task(retries=MAIL_RETRIES, retry_delay=MAIL_FIRST_DELAY, context=True)
def send_notification_mail(notification_id: int, task=None):
    """Mail one notification; a failure is kept on the row and retried; the last failure marks it failed."""
    with _app_context():
        from agencyapp.services import notifications
        from agencyapp.unit_of_work import unit_of_work

        last_try = task is None or task.retries == 0
        with unit_of_work():  # the task is the edge: the mail's state commits here
            sent = notifications.deliver_mail(notification_id, last_try=last_try)
        if not sent and not last_try:
            task.retry_delay = MAIL_FIRST_DELAY * 2 ** (MAIL_RETRIES - task.retries)
            raise RuntimeError(f"mail for notification {notification_id} not sent; retried later")


# 08:00 in Japan (23:00 UTC the day before): confirmed hearings in the coming days.
@huey.periodic_task(crontab(minute="0", hour="23"))
def send_hearing_reminders():
    with _app_context():
        from agencyapp.services import hearings
        from agencyapp.unit_of_work import unit_of_work

        with unit_of_work():
            hearings.send_reminders()


@huey.task(retries=1, retry_delay=30)
def run_export(job_id: int):
    """Write one export (services/export_jobs.py), reporting progress as it goes; a failure is shown on
    the job's page."""
    with _app_context():
        from agencyapp.extensions import db
        from agencyapp.services import export_jobs
        from agencyapp.unit_of_work import unit_of_work

        with unit_of_work():
            job = export_jobs.claim(job_id)
        if job is None:
            return

        def progress(percent):
            with unit_of_work():  # between statements: no cursor is open
                export_jobs.set_progress(job_id, percent)

        try:
            data, rows, name = export_jobs.build(job, progress)
        except Exception as exc:
            db.session.rollback()
            current_app.logger.exception("export %s failed", job_id)
            with unit_of_work():
                export_jobs.fail(job_id, type(exc).__name__)
            return
        with unit_of_work():
            export_jobs.finish(job_id, data, rows, name)
