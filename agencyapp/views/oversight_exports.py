"""Oversight exports: the CSV of one sheet streamed as it is sent, and the .xlsx of every sheet made by the
task queue (a request starts it; services/export_jobs.py). The sheets: agencyapp/oversight_sheets.py."""

from flask import Response, abort, redirect, request, stream_with_context, url_for
from flask_login import current_user

from agencyapp import oversight_sheets as sheets
from agencyapp.exports import csv_chunks
from agencyapp.formatting import now_utc
from agencyapp.services import export_jobs
from agencyapp.services import oversight as service
from agencyapp.views.common import run
from agencyapp.views.oversight import _context, bp


def _scope():
    _, cycle, _, ministry = _context()
    if cycle is None:
        abort(404)
    return cycle, ministry


def _download(body, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.post("/export.xlsx")
def export_xlsx():
    """Every sheet as .xlsx, made by the task queue: the page that follows shows its progress and the file."""
    cycle, ministry = _scope()
    job = run(export_jobs.start_oversight_workbook, current_user, cycle, ministry)
    return redirect(url_for("exports.show", job_id=job.id), code=303)


@bp.get("/export.csv")
def export_csv():
    """One sheet as CSV, its rows read and encoded as they are sent; recorded with its row count first."""
    key = request.args.get("view", "summary")
    view = sheets.VIEWS.get(key)
    if view is None:
        abort(404)
    cycle, ministry = _scope()
    scope = sheets.scope_for(current_user, cycle, ministry)
    run(service.record_export, current_user, f"CSV（{view.title}）", scope.label, view.count(scope))
    body = csv_chunks(sheets.sheet(scope, view, now_utc(), current_user.display_name))
    response = _download(stream_with_context(body), "text/csv", sheets.filename(scope, f"{key}.csv"))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    return response
