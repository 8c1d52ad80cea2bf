"""The center's review: queue, one submission's review page, points, requests and phrases."""

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.forms import iso_date
from agencyapp.htmx import is_htmx
from agencyapp.inputs import ident
from agencyapp.lifecycles import SubmissionState
from agencyapp.models import ImprovementPoint, Ministry
from agencyapp.services import DomainError, todos
from agencyapp.services import improvements as points_service
from agencyapp.services import review as service
from agencyapp.services.selfcheck import load_state
from agencyapp.views.common import chosen_cycle, page_arg, page_count, past_the_last_page, per_page, run

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.get("/")
def queue():
    cycles, cycle = chosen_cycle()
    if cycle is None:
        return render_template("review/queue.html", cycle=None, cycles=[], todos=todos.center_todos(current_user))
    filters = service.QueueFilters(
        search=(request.args.get("q") or "").strip()[:100],
        status=request.args.get("status") if request.args.get("status") in SubmissionState.choices() else "",
        ministry_id=request.args.get("ministry", type=ident),
        important_not_met=request.args.get("important") == "not_met",
        overdue=request.args.get("overdue") == "1",
        sort=request.args.get("sort") if request.args.get("sort") in service.SORTS else "ministry",
        direction="desc" if request.args.get("dir") == "desc" else "asc",
        page=page_arg(),
    )
    rows, counts, total = service.review_queue(current_user, cycle, filters, per_page())
    beyond = past_the_last_page(filters.page, total, per_page())
    if beyond:
        return beyond
    context = dict(
        cycles=cycles,
        cycle=cycle,
        rows=rows,
        counts=counts,
        total=total,
        filters=filters,
        statuses=SubmissionState.choices(),
        ministries=db.session.scalars(select(Ministry).order_by(Ministry.position)).all(),
        pages=page_count(total, per_page()),
    )
    if is_htmx() and request.headers.get("HX-Target") == "review-queue":
        return render_template("review/_queue_table.html", **context)
    return render_template("review/queue.html", todos=todos.center_todos(current_user), **context)


def _review_context(submission, error=None, failed=None, typed=None, open_form=None):
    """Everything the review page shows; after a refusal, ``failed`` names the form the message belongs to
    (it is shown there, the control focused) and ``typed`` is what the user sent, shown again.
    ``open_form``: the question whose 確認点 form is drawn open (the others show a button that loads it)."""
    state = load_state(submission, plain=True)
    assessed = service.assessments(submission)
    previous, previous_values = service.previous_values(submission)
    snapshots, changes = service.snapshot_changes(submission)
    return dict(
        submission=submission,
        state=state,
        assessed=assessed,
        validated=service.validated_scores(state, assessed),
        scores=state.scores(),
        previous=previous,
        previous_values=previous_values,
        snapshots=snapshots,
        changes=changes,
        notes=service.notes(submission),
        decisions=service.decisions(submission),
        snapshot=snapshots[0] if snapshots else None,
        points=points_service.points_of_submission(submission, include_drafts=True),
        phrases=points_service.phrases(),
        error=error,
        failed=failed,
        typed=typed or {},
        open_form=open_form,
        is_overdue=points_service.is_overdue,
    )


@bp.get("/submissions/<int:submission_id>")
def show(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_REVIEW)
    from agencyapp.services import oversight

    run(lambda: oversight.record_view(current_user, submission, "review"))
    context = _review_context(submission, open_form=request.args.get("assess", type=ident))
    return render_template("review/show.html", views=oversight.views_of(submission), **context)


@bp.get("/submissions/<int:submission_id>/assessments/<int:number>")
def assess_form(submission_id, number):
    """The 確認点 form of one question, loaded into its row (without JavaScript: the page with it open)."""
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_ASSESS)
    try:
        question = service.assessable_question(current_user, submission, number)
    except DomainError as exc:
        return _fail(submission, exc, f"assess-{number}")
    if not is_htmx():
        return redirect(url_for("review.show", submission_id=submission.id, assess=number) + f"#review-q-{number}")
    return render_template(
        "review/_assess_form.html",
        submission=submission,
        q=question,
        a=service.assessments(submission).get(number),
    )


def _back(submission, anchor=""):
    return redirect(url_for("review.show", submission_id=submission.id) + anchor, code=303)


def _fail(submission, exc, form_key):
    """A refused action: the page again (no redirect that jumps away), with the message beside the form
    ``form_key`` and what was typed still in it; htmx gets the message as a fragment."""
    if is_htmx():
        return render_template("errors/_fragment.html", title="操作できませんでした", message=exc.message), exc.status
    from agencyapp.services import oversight

    context = _review_context(submission, exc.message, failed=form_key, typed=request.form)
    return render_template("review/show.html", views=oversight.views_of(submission), **context), exc.status


@bp.post("/submissions/<int:submission_id>/assessments/<int:number>")
def assess(submission_id, number):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_ASSESS)
    try:
        run(
            service.set_assessment,
            current_user,
            submission,
            number,
            request.form.get("value"),
            request.form.get("reason"),
        )
    except DomainError as exc:
        return _fail(submission, exc, f"assess-{number}")
    flash(f"設問{number}のセンター確認点を保存しました。", "success")
    return _back(submission, f"#review-q-{number}")


@bp.post("/submissions/<int:submission_id>/notes")
def add_note(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_NOTE)
    try:
        run(service.add_note, current_user, submission, request.form.get("body"))
    except DomainError as exc:
        return _fail(submission, exc, "notes")
    flash("内部メモを追加しました。", "success")
    return _back(submission, "#notes")


def _decide(submission_id, action, call, form_key, success):
    """One of the center's decisions on a submission: run it, or show the page with the message beside its form."""
    submission = policy.get_submission_or_404(current_user, submission_id, action)
    try:
        run(call, current_user, submission, request.form.get("lock_version", type=ident))
    except DomainError as exc:
        return _fail(submission, exc, form_key)
    flash(success, "success")
    return _back(submission)


@bp.post("/submissions/<int:submission_id>/return")
def return_submission(submission_id):
    return _decide(
        submission_id,
        Action.SUBMISSION_RETURN,
        lambda user, sub, lock: service.return_submission(user, sub, request.form.get("reason"), lock),
        "decision",
        "自己点検を差し戻しました。機関に通知しました。",
    )


@bp.post("/submissions/<int:submission_id>/accept")
def accept(submission_id):
    return _decide(
        submission_id,
        Action.SUBMISSION_ACCEPT,
        service.accept_submission,
        "decision",
        "自己点検を確認済にしました。機関に通知しました。",
    )


@bp.post("/submissions/<int:submission_id>/reopen")
def reopen(submission_id):
    return _decide(
        submission_id,
        Action.SUBMISSION_ACCEPT,
        lambda user, sub, lock: service.reopen_submission(user, sub, request.form.get("reason"), lock),
        "reopen",
        "確認済を取り消しました（提出済に戻りました）。機関に通知しました。",
    )


def _drafts_response(submission, error=None, status=200, form_key=None):
    """The drafts region (htmx) or the page; a refusal keeps what was typed beside its form."""
    typed = request.form if error else None
    if is_htmx():
        context = _review_context(submission, error, failed=form_key, typed=typed)
        return render_template("review/_points.html", **context), status
    if error:
        from agencyapp.services import oversight

        context = _review_context(submission, error, failed=form_key, typed=typed)
        return render_template("review/show.html", views=oversight.views_of(submission), **context), status
    return _back(submission, "#points")


@bp.post("/submissions/<int:submission_id>/points")
def add_point(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.POINT_DRAFT)
    try:
        run(
            points_service.add_point,
            current_user,
            submission,
            request.form.get("question", type=ident),
            request.form.get("finding"),
            request.form.get("requested_action"),
        )
    except DomainError as exc:
        return _drafts_response(submission, exc.message, exc.status, "add-point")
    return _drafts_response(submission)


def _draft_point(point_id):
    point = db.session.get(ImprovementPoint, point_id)
    if point is None:
        abort(404)
    policy.get_submission_or_404(current_user, point.submission_id, Action.POINT_DRAFT)
    return point


@bp.post("/points/<int:point_id>/edit")
def edit_point(point_id):
    point = _draft_point(point_id)
    try:
        run(
            points_service.edit_point,
            current_user,
            point,
            request.form.get("finding"),
            request.form.get("requested_action"),
            request.form.get("lock_version", type=ident),
        )
    except DomainError as exc:
        return _drafts_response(point.submission, exc.message, exc.status, f"draft-{point.id}")
    return _drafts_response(point.submission)


@bp.post("/points/<int:point_id>/delete")
def delete_point(point_id):
    point = _draft_point(point_id)
    submission = point.submission
    try:
        run(points_service.delete_point, current_user, point, request.form.get("lock_version", type=ident))
    except DomainError as exc:
        return _drafts_response(submission, exc.message, exc.status, f"draft-{point_id}")
    return _drafts_response(submission)


@bp.post("/submissions/<int:submission_id>/suggestions")
def suggest_points(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.POINT_DRAFT)
    try:
        created = run(points_service.suggest_points, current_user, submission)
    except DomainError as exc:
        return _fail(submission, exc, "suggest")
    flash(
        f"改善点の案を{created}件作成しました。内容を確認・編集してから依頼してください。"
        if created
        else "新たに案を作る対象（重要点検項目で3点未満、または1点の回答）はありませんでした。",
        "success",
    )
    return _back(submission, "#points")


@bp.post("/submissions/<int:submission_id>/requests")
def issue_request(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.POINT_ISSUE)
    try:
        request_row = run(
            points_service.issue_request,
            current_user,
            submission,
            request.form.getlist("point_ids"),
            iso_date(request.form.get("due_on")),
            request.form.get("message"),
        )
    except DomainError as exc:
        return _fail(submission, exc, "issue")
    flash("改善依頼を発行しました。機関と省統括課に通知しました。", "success")
    return redirect(url_for("improvements.request", request_id=request_row.id), code=303)


@bp.get("/phrases")
def phrases():
    return render_template(
        "review/phrases.html", phrases=points_service.phrases(kind=None), kinds=points_service.PHRASE_KINDS
    )


@bp.post("/phrases")
def save_phrase():
    try:
        run(
            points_service.save_phrase,
            current_user,
            request.form.get("phrase_id", type=ident),
            request.form.get("title"),
            request.form.get("body"),
            request.form.get("kind", "finding"),
        )
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash("定型文を保存しました。", "success")
    return redirect(url_for("review.phrases"), code=303)


@bp.post("/phrases/<int:phrase_id>/delete")
def delete_phrase(phrase_id):
    run(points_service.delete_phrase, current_user, phrase_id)
    flash("定型文を削除しました。", "success")
    return redirect(url_for("review.phrases"), code=303)
