"""Home page per role: the agency's own self-checks, or a scoped list of a cycle's submissions."""

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from agencyapp import policy, scoring
from agencyapp.checklists.conditions import applicability
from agencyapp.extensions import db
from agencyapp.htmx import is_htmx
from agencyapp.lifecycles import SubmissionState
from agencyapp.models import Cycle, Submission
from agencyapp.services import todos
from agencyapp.services.checklists import load_structure
from agencyapp.services.selfcheck import cycle_submissions, load_values
from agencyapp.views.common import chosen_cycle, page_arg, page_count, past_the_last_page, per_page

bp = Blueprint("dashboard", __name__)
STATUSES = SubmissionState.choices()


def _progress_by_submission(submissions, structures):
    """(answered, applicable) per submission id, from one statement of answer values."""
    by_submission = load_values([s.id for s in submissions])
    result = {}
    for submission in submissions:
        structure = structures[submission.cycle.version_id]
        values = by_submission[submission.id]
        result[submission.id] = scoring.progress(
            structure.questions, values, applicability(structure.questions, values)
        )
    return result


@bp.get("/")
def home():
    """Each role's home, as the policy names it: own self-checks, the review queue, oversight, or the list."""
    from agencyapp.views.oversight import home as oversight_home
    from agencyapp.views.review import queue

    pages = {"own": _agency_home, "review": queue, "oversight": oversight_home, "list": _list_home}
    return pages[policy.home_page(current_user)]()


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
    # The newest year and any still being answered get a card with progress (their answers are read);
    # earlier years are a table of their stored figures, so the page stays the same size year after year.
    current = [s for i, s in enumerate(submissions) if i == 0 or s.editable]
    earlier = [s for s in submissions if s not in current]
    editable = [s for s in current if s.editable]
    structures = {}
    for submission in editable:
        if submission.cycle.version_id not in structures:
            structures[submission.cycle.version_id] = load_structure(submission.cycle.version)
    progress = _progress_by_submission(editable, structures)
    return render_template(
        "dashboard/agency.html",
        submissions=current,
        earlier=earlier,
        progress=progress,
        todos=todos.agency_todos(current_user),
    )


def _list_home():
    cycles, cycle = chosen_cycle()
    search = (request.args.get("q") or "").strip()[:100]
    status = request.args.get("status") or ""
    if status not in STATUSES:
        status = ""
    page, size = page_arg(), per_page()
    rows, counts, total, progress = [], {}, 0, {}
    if cycle:
        rows, counts, total = cycle_submissions(
            current_user, cycle, search=search, status=status, page=page, per_page=size
        )
        if rows:
            progress = _progress_by_submission(rows, {cycle.version_id: load_structure(cycle.version)})
    beyond = past_the_last_page(page, total, size)
    if beyond:
        return beyond
    pages = page_count(total, size)
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
        statuses=STATUSES,
    )
    if is_htmx() and request.headers.get("HX-Target") == "submission-list":
        return render_template("dashboard/_submission_list.html", **context)
    return render_template("dashboard/list.html", **context)
