"""Home page per role: the agency's own self-checks, or a scoped list of a cycle's submissions."""

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from agencyapp import policy, scoring
from agencyapp.checklists.conditions import applicability
from agencyapp.extensions import db
from agencyapp.htmx import is_htmx
from agencyapp.models import Cycle, Submission
from agencyapp.models.submission import STATUS_LABELS
from agencyapp.models.user import AGENCY, CENTER, MINISTRY
from agencyapp.services.checklists import load_structure
from agencyapp.services.selfcheck import cycle_submissions, load_answers

bp = Blueprint("dashboard", __name__)


def _progress_by_submission(submissions, structures):
    """(answered, applicable) per submission id, from one statement of answers."""
    answers = load_answers([s.id for s in submissions])
    result = {}
    for submission in submissions:
        structure = structures[submission.cycle.version_id]
        values = {n: a.value for n, a in answers[submission.id].items()}
        result[submission.id] = scoring.progress(
            structure.questions, values, applicability(structure.questions, values)
        )
    return result


@bp.get("/")
def home():
    if current_user.role == AGENCY:
        return _agency_home()
    if current_user.role == CENTER:
        from agencyapp.views.review import queue

        return queue()  # the center's home is its review queue
    if current_user.role == MINISTRY:
        from agencyapp.views.oversight import home as oversight_home

        return oversight_home()  # the ministry's home is the oversight of its units
    return _list_home()


def _agency_home():
    submissions = (
        db.session.scalars(
            policy.scope_submissions(current_user, select(Submission))
            .options(joinedload(Submission.cycle).joinedload(Cycle.version), joinedload(Submission.unit))
            .join(Cycle, Cycle.id == Submission.cycle_id)
            .order_by(Cycle.fiscal_year.desc(), Cycle.id.desc())
        )
        .unique()
        .all()
    )
    structures = {}
    for submission in submissions:
        if submission.cycle.version_id not in structures:
            structures[submission.cycle.version_id] = load_structure(submission.cycle.version)
    progress = _progress_by_submission(submissions, structures)
    return render_template("dashboard/agency.html", submissions=submissions, progress=progress)


def _list_home():
    cycles = db.session.scalars(select(Cycle).order_by(Cycle.fiscal_year.desc(), Cycle.id.desc())).all()
    cycle = None
    if cycles:
        wanted = request.args.get("cycle", type=int)
        cycle = next((c for c in cycles if c.id == wanted), None) if wanted else cycles[0]
        if cycle is None:
            abort(404)
    search = (request.args.get("q") or "").strip()[:100]
    status = request.args.get("status") or ""
    if status not in STATUS_LABELS:
        status = ""
    page = request.args.get("page", 1, type=int) or 1
    per_page = current_app.config["PAGE_SIZE"]
    rows, counts, total, progress = [], {}, 0, {}
    if cycle:
        rows, counts, total = cycle_submissions(
            current_user, cycle, search=search, status=status, page=page, per_page=per_page
        )
        if rows:
            progress = _progress_by_submission(rows, {cycle.version_id: load_structure(cycle.version)})
    pages = max(1, -(-total // per_page))
    context = dict(
        cycles=cycles,
        cycle=cycle,
        rows=rows,
        counts=counts,
        total=total,
        progress=progress,
        search=search,
        status=status,
        page=page,
        pages=pages,
        statuses=STATUS_LABELS,
    )
    if is_htmx() and request.headers.get("HX-Target") == "submission-list":
        return render_template("dashboard/_submission_list.html", **context)
    return render_template("dashboard/list.html", **context)
