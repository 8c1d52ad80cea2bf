"""The self-check page: read, autosave one answer, save all, confirm and submit."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.htmx import is_htmx
from agencyapp.services import DomainError, oversight, workflow
from agencyapp.services import selfcheck as service
from agencyapp.views.common import run

bp = Blueprint("selfcheck", __name__, url_prefix="/submissions")


def _lock_version():
    return request.form.get("lock_version", type=int)


def _page(submission, state=None, status=200, error=None):
    state = state or service.load_state(submission)
    snapshot = None if submission.editable else service.latest_snapshot(submission)
    editable = workflow.permitted(current_user, submission, "save")
    views = oversight.views_of(submission) if policy.can(current_user, Action.SUBMISSION_VIEWS, submission) else None
    return render_template(
        "selfcheck/show.html",
        submission=submission,
        state=state,
        snapshot=snapshot,
        editable=editable,
        error=error,
        views=views,
        note_max=service.NOTE_MAX,
    ), status


@bp.get("/<int:submission_id>")
def show(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id)
    run(lambda: oversight.record_view(current_user, submission, "selfcheck"))
    return _page(submission)


@bp.post("/<int:submission_id>/answers/<int:number>")
def save_answer(submission_id, number):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_EDIT)
    try:
        result = run(
            lambda: service.save_answer(
                current_user,
                submission,
                number,
                request.form.get(f"answer-{number}"),
                request.form.get(f"note-{number}"),
                _lock_version(),
            )
        )
    except DomainError as exc:
        if is_htmx():
            return render_template("selfcheck/_save_error.html", number=number, message=exc.message), exc.status
        flash(exc.message, "error")
        return redirect(url_for("selfcheck.show", submission_id=submission.id) + f"#q-{number}", code=303)
    if not is_htmx():
        flash(f"設問{number}を保存しました。", "success")
        return redirect(url_for("selfcheck.show", submission_id=submission.id) + f"#q-{number}", code=303)
    return render_template(
        "selfcheck/_save_result.html",
        submission=submission,
        state=result.state,
        number=number,
        result=result,
        editable=True,
        note_max=service.NOTE_MAX,
    )


@bp.post("/<int:submission_id>/answers")
def save_all(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_EDIT)
    try:
        changes, _ = run(lambda: service.save_all(current_user, submission, request.form, _lock_version()))
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(f"{changes}件の変更を保存しました。" if changes else "変更はありませんでした。", "success")
    return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)


@bp.get("/<int:submission_id>/submit")
def confirm_submit(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_SUBMIT)
    if not submission.editable:
        flash("この自己点検は提出済みです。", "info")
        return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)
    state = service.load_state(submission)
    return render_template("selfcheck/confirm.html", submission=submission, state=state, error=None)


@bp.post("/<int:submission_id>/submit")
def submit(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_SUBMIT)
    try:
        run(lambda: service.submit(current_user, submission, _lock_version()))
    except DomainError as exc:
        state = service.load_state(submission)
        return render_template(
            "selfcheck/confirm.html", submission=submission, state=state, error=exc.message
        ), exc.status
    flash("自己点検を提出しました。提出内容は固定され、変更できません。", "success")
    return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)
