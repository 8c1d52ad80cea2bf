"""The exports the task queue makes: one person's list, each one's progress, and its file."""

import io

from flask import Blueprint, abort, render_template, send_file
from flask_login import current_user

from agencyapp import policy
from agencyapp.htmx import is_htmx
from agencyapp.services import export_jobs as service

bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.get("/")
def index():
    return render_template("exports/index.html", jobs=service.jobs_of(current_user))


@bp.get("/<int:job_id>")
def show(job_id):
    """The job's state; while it runs, the page asks again every two seconds (htmx) or on reload."""
    job = policy.get_export_or_404(current_user, job_id)
    template = "exports/_state.html" if is_htmx() else "exports/show.html"
    return render_template(template, job=job)


@bp.get("/<int:job_id>/file")
def file(job_id):
    job = policy.get_export_or_404(current_user, job_id)
    data = service.file_of(job)
    if data is None:
        abort(404)
    return send_file(
        io.BytesIO(data), mimetype=job.content_type, as_attachment=True, download_name=job.file_name, max_age=0
    )
