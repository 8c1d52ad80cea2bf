"""Exports made by the task queue: started by a request, written by the consumer (agencyapp/tasks.py),
kept in the database (file_blob) so that any host serves them, to the person who asked only."""

import secrets
from datetime import UTC, datetime

from sqlalchemy import select

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import fiscal_year_label
from agencyapp.models import Cycle, ExportJob, FileBlob, Ministry, User
from agencyapp.models.export import DONE, FAILED, QUEUED, RUNNING
from agencyapp.services.audit import record
from agencyapp.unit_of_work import after_commit

OVERSIGHT_XLSX = "oversight.xlsx"
AUDIT_CSV = "audit.csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"  # send_file adds "; charset=utf-8"
KEPT = 20  # finished exports kept per person (older files are removed when a new one starts)


def start_oversight_workbook(user: User, cycle: Cycle, ministry: Ministry | None) -> ExportJob:
    """Queue the .xlsx of every sheet of the oversight page's scope; the page of the job follows it."""
    policy.require_oversight_scope(user, ministry.id if ministry else None)
    label = ministry.name if ministry else "全府省"
    job = ExportJob(
        user_id=user.id,
        kind=OVERSIGHT_XLSX,
        params={"cycle_id": cycle.id, "ministry_id": ministry.id if ministry else None, "label": label},
        title=f"{fiscal_year_label(cycle.fiscal_year)} 自己点検の結果（{label}）Excel（.xlsx、全シート）",
    )
    return _queued(user, job)


def start_audit_csv(user: User, args: dict) -> ExportJob:
    """Queue the operation history, filtered as the page's form says, as CSV (at most EXPORT_LIMIT events)."""
    policy.require(user, Action.AUDIT_VIEW)
    return _queued(user, ExportJob(user_id=user.id, kind=AUDIT_CSV, params=dict(args), title="操作履歴（CSV）"))


def _queued(user: User, job: ExportJob) -> ExportJob:
    db.session.add(job)
    _forget_old(user)
    db.session.flush()
    job_id = job.id
    after_commit(lambda: _queue(job_id))
    return job


def _queue(job_id: int) -> None:
    from agencyapp.tasks import run_export

    run_export(job_id)


def _forget_old(user: User) -> None:
    old = db.session.scalars(
        select(ExportJob)
        .where(ExportJob.user_id == user.id, ExportJob.state.in_((DONE, FAILED)))
        .order_by(ExportJob.id.desc())
        .offset(KEPT - 1)
    ).all()
    for job in old:
        if job.stored_name:
            blob = db.session.get(FileBlob, job.stored_name)
            if blob is not None:
                db.session.delete(blob)
        db.session.delete(job)


def jobs_of(user: User, limit: int = KEPT):
    return db.session.scalars(
        select(ExportJob).where(ExportJob.user_id == user.id).order_by(ExportJob.id.desc()).limit(limit)
    ).all()


def file_of(job: ExportJob) -> bytes | None:
    if job.state != DONE or not job.stored_name:
        return None
    blob = db.session.get(FileBlob, job.stored_name)
    return blob.data if blob is not None else None


# --- what the task runs (it commits: it is the edge) ---------------------------------------------------


def claim(job_id: int) -> ExportJob | None:
    """Mark a queued job running; None when it is finished or gone (a second delivery does nothing)."""
    job = db.session.get(ExportJob, job_id, with_for_update=True)
    if job is None or job.state not in (QUEUED, RUNNING):
        return None
    job.state, job.progress = RUNNING, 0
    return job


def build(job: ExportJob, progress) -> tuple[bytes, int, str]:
    """The file of a claimed job: (bytes, data rows, file name)."""
    from agencyapp import oversight_sheets as sheets

    if job.kind == AUDIT_CSV:
        return _audit_csv(job, progress)
    if job.kind != OVERSIGHT_XLSX:
        raise ValueError(f"unknown export kind {job.kind!r}")
    user = db.session.get(User, job.user_id)
    cycle = db.session.get(Cycle, job.params["cycle_id"])
    ministry = db.session.get(Ministry, job.params["ministry_id"]) if job.params.get("ministry_id") else None
    scope = sheets.scope_for(user, cycle, ministry)
    out, _size, rows = sheets.workbook(scope, user.display_name, progress)
    with out:
        data = out.read()
    return data, rows, sheets.filename(scope, "xlsx")


def _audit_csv(job: ExportJob, progress) -> tuple[bytes, int, str]:
    from agencyapp import audit_log

    stmt, _ = audit_log.filtered(job.params)
    total = max(audit_log.export_count(stmt), 1)
    sent = [0]

    def between(count):
        sent[0] = count
        progress(min(99, 100 * count // total))

    data = "".join(audit_log.csv_lines(stmt, between)).encode("utf-8")
    return data, sent[0], audit_log.filename()


def set_progress(job_id: int, percent: int) -> None:
    job = db.session.get(ExportJob, job_id)
    if job is not None:
        job.progress = percent


def finish(job_id: int, data: bytes, rows: int, file_name: str) -> None:
    from agencyapp.services.oversight import record_export

    job = db.session.get(ExportJob, job_id)
    audit = job.kind == AUDIT_CSV
    stored_name = secrets.token_hex(16) + (".csv" if audit else ".xlsx")
    db.session.add(FileBlob(stored_name=stored_name, data=data))
    job.state, job.progress, job.stored_name = DONE, 100, stored_name
    job.size, job.file_name, job.content_type = len(data), file_name, CSV if audit else XLSX
    job.finished_at = datetime.now(UTC)
    user = db.session.get(User, job.user_id)
    if audit:
        record_export(user, "CSV", "操作履歴", rows)
    else:
        record_export(user, "Excel（.xlsx）", job.params["label"], rows)


def fail(job_id: int, reason: str) -> None:
    job = db.session.get(ExportJob, job_id)
    if job is None:
        return
    job.state, job.finished_at = FAILED, datetime.now(UTC)
    job.message = "出力を作成できませんでした。時間をおいてもう一度お試しください。" + (
        f"（{reason[:200]}）" if reason else ""
    )
    record("export.failed", actor_login="queue", summary=f"出力の作成に失敗しました（{job.title}）")
