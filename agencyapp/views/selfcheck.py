"""The self-check page: read, autosave one answer, save all, confirm and submit."""

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.htmx import is_htmx
from agencyapp.inputs import ident, ident_or_none
from agencyapp.lifecycles import SubmissionState
from agencyapp.services import DomainError, StaleError, approvals, carryover, oversight, workbooks, workflow
from agencyapp.services import selfcheck as service
from agencyapp.views.common import run
from agencyapp.views.errors import recovers_from_stale_token

bp = Blueprint("selfcheck", __name__, url_prefix="/submissions")


def _lock_version():
    return request.form.get("lock_version", type=ident)


def _posted(form, state):
    """What the no-JavaScript form sent, to show it again when it could not be saved: (values, notes, conflicts).

    A conflict is a question whose stored answer is not what was sent and changed since the page was
    loaded (its version moved on; without versions, any difference): somebody saved it meanwhile.
    """
    values, notes, versions, conflicts = {}, {}, {}, {}
    for key, raw in form.items():
        prefix, _, tail = key.partition("-")
        number = ident_or_none(tail)
        if number not in state.structure.by_number:
            continue
        if prefix == "answer":
            values[number] = ident_or_none(raw)
        elif prefix == "note":
            notes[number] = raw
        elif prefix == "version":
            versions[number] = ident_or_none(raw)
    for number in values.keys() | notes.keys():
        answer = state.answers.get(number)
        if answer is None:
            continue
        moved = versions[number] != service.answer_version(answer) if number in versions else True
        differs = values.get(number, answer.value) != answer.value or notes.get(number, answer.note) != answer.note
        if moved and differs:
            stored = answer.value
            label = f"{stored} {state.structure.version.scale_label(stored)}" if stored is not None else "未回答"
            conflicts[number] = label
    return values, notes, conflicts


def _page(submission, state=None, status=200, error=None, posted=None, category=None):
    """The self-check page showing one 大分類 (``category``, else where work remains) or all of them."""
    state = state or service.load_state(submission, plain=True)
    posted_values, posted_notes, conflicts = _posted(posted, state) if posted else ({}, {}, {})
    snapshot = None if submission.editable else service.latest_snapshot(submission)
    editable = workflow.permitted(current_user, submission, "save")
    views = oversight.views_of(submission) if policy.can(current_user, Action.SUBMISSION_VIEWS, submission) else None
    if posted:
        category = posted.get("cat")
    last = carryover.last_year(submission)
    carry_source = (
        carryover.last_accepted(submission)
        if editable and not state.answers and workflow.permitted(current_user, submission, "carry_over")
        else None
    )
    return render_template(
        "selfcheck/show.html",
        submission=submission,
        state=state,
        category_page=state.category_page(category, editable),
        snapshot=snapshot,
        editable=editable,
        error=error,
        views=views,
        note_max=service.NOTE_MAX,
        posted_values=posted_values,
        posted_notes=posted_notes,
        conflicts=conflicts,
        last=last,
        carry_source=carry_source,
        awaiting=submission.status == SubmissionState.AWAITING_APPROVAL,
        approved=submission.status == SubmissionState.APPROVED,
        rise_note=carryover.RISE_NOTE,
    ), status


@bp.get("/<int:submission_id>")
def show(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id)
    run(lambda: oversight.record_view(current_user, submission, "selfcheck"))
    return _page(submission, category=request.args.get("cat"))


def _question_url(submission, number):
    """The page of the 大分類 a question is in, scrolled to it."""
    question = service.load_structure(submission.cycle.version).by_number.get(number)
    category = question.category_code if question else None
    return url_for("selfcheck.show", submission_id=submission.id, cat=category) + f"#q-{number}"


@bp.post("/<int:submission_id>/answers/<int:number>")
def save_answer(submission_id, number):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_EDIT, page=False)
    try:
        result = run(
            lambda: service.save_answer(
                current_user,
                submission,
                number,
                request.form.get(f"answer-{number}"),
                request.form.get(f"note-{number}"),
                _lock_version(),
                request.form.get(f"version-{number}", type=ident),
            )
        )
    except DomainError as exc:
        if is_htmx():
            return render_template(
                "selfcheck/_save_error.html", number=number, message=exc.message, version=exc.details.get("version")
            ), exc.status
        flash(exc.message, "error")
        return redirect(_question_url(submission, number), code=303)
    if not is_htmx():
        flash(f"設問{number}を保存しました。", "success")
        return redirect(_question_url(submission, number), code=303)
    return render_template(
        "selfcheck/_save_result.html",
        submission=submission,
        state=result.state,
        number=number,
        result=result,
        editable=True,
        note_max=service.NOTE_MAX,
        shown=request.form.get("cat") or service.ALL_CATEGORIES,
    )


@bp.post("/<int:submission_id>/answers")
def save_all(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_EDIT)
    try:
        changes, _ = run(lambda: service.save_all(current_user, submission, request.form, _lock_version()))
    except StaleError as exc:
        # The page again with what was sent, nothing lost; answers saved meanwhile by someone else are marked.
        return _page(submission, status=exc.status, error=exc.message, posted=request.form)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)
    flash(f"{changes}件の変更を保存しました。" if changes else "変更はありませんでした。", "success")
    # 「保存して次の大分類へ」 names the next one; else the page shown again.
    category = request.form.get("go") or request.form.get("cat")
    return redirect(url_for("selfcheck.show", submission_id=submission.id, cat=category or None), code=303)


@bp.get("/<int:submission_id>/workbook.xlsx")
def workbook(submission_id):
    """The self-check as an Excel workbook in the official layout, to fill in and upload again."""
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_EDIT)
    body = workbooks.build(submission, current_user)
    name = f"selfcheck-{submission.cycle.fiscal_year}-{submission.unit.code}.xlsx"
    return Response(body, mimetype=workbooks.XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _import_page(submission, imported, result, error=None, status=200, choices=None):
    return render_template(
        "selfcheck/import.html",
        submission=submission,
        imported=imported,
        result=result,
        error=error,
        choices=choices or {},
        structure=service.load_structure(submission.cycle.version),
    ), status


@bp.post("/<int:submission_id>/workbook")
def upload_workbook(submission_id):
    """An uploaded workbook: kept and previewed — what it would change, its errors by cell, its conflicts."""
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_EDIT)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Excel ファイルを選んでください。", "error")
        return redirect(url_for("selfcheck.show", submission_id=submission.id) + "#workbook", code=303)
    try:
        imported, result = run(workbooks.upload, current_user, submission, upload)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("selfcheck.show", submission_id=submission.id) + "#workbook", code=303)
    return _import_page(submission, imported, result)


@bp.post("/<int:submission_id>/workbook/<int:import_id>/apply")
def apply_workbook(submission_id, import_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_EDIT)
    choices = {
        number: request.form[key]
        for key in request.form
        if key.startswith("choice-") and (number := ident_or_none(key[len("choice-") :])) is not None
    }
    try:
        done = run(workbooks.apply, current_user, submission, import_id, choices, _lock_version())
    except DomainError as exc:
        again = workbooks.previewed(submission, import_id)
        if again is None:
            flash(exc.message, "error")
            return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)
        return _import_page(submission, *again, exc.message, exc.status, choices)
    flash(f"Excel ファイルから{done}件の回答を取り込みました。" if done else "変更はありませんでした。", "success")
    return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)


@bp.post("/<int:submission_id>/request-approval")
def request_approval(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_EDIT)
    try:
        run(approvals.request_approval, current_user, submission, _lock_version())
    except DomainError as exc:
        return _confirm_page(submission, exc.message, exc.status)
    flash("承認を依頼しました。承認者が承認すると提出できます。", "success")
    return redirect(url_for("selfcheck.confirm_submit", submission_id=submission.id), code=303)


def _approval_page(submission, error=None, status=200):
    row = approvals.current(submission)
    answers = json.loads(row.content)["answers"] if row is not None else []
    return render_template(
        "selfcheck/approval.html",
        submission=submission,
        approval=row,
        answers=answers,
        structure=service.load_structure(submission.cycle.version),
        may_decide=row is not None
        and row.status == "pending"
        and workflow.permitted(current_user, submission, "approve"),
        error=error,
    ), status


@bp.get("/<int:submission_id>/approval")
def approval(submission_id):
    """What was sent for approval, exactly (the frozen content and its hash), with the approver's decision."""
    submission = policy.get_submission_or_404(current_user, submission_id)
    return _approval_page(submission)


def _decide(submission_id, step, field, done, then):
    """The approver's decision ``step`` (approve, or return with a comment) on the posted ``field``; a refusal
    redraws the approval page with its message."""
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_APPROVE)
    try:
        run(step, current_user, submission, request.form.get(field), _lock_version())
    except DomainError as exc:
        return _approval_page(submission, exc.message, exc.status)
    flash(done, "success")
    return redirect(url_for(then, submission_id=submission.id), code=303)


@bp.post("/<int:submission_id>/approve")
def approve(submission_id):
    done = "承認しました。担当者または承認者が提出できます。"
    return _decide(submission_id, approvals.approve, "sha256", done, "selfcheck.confirm_submit")


@bp.post("/<int:submission_id>/return-internally")
def return_internally(submission_id):
    done = "差し戻しました。担当者に通知しました。"
    return _decide(submission_id, approvals.return_internally, "comment", done, "selfcheck.approval")


@bp.get("/<int:submission_id>/earlier-items")
def earlier_items(submission_id):
    """Earlier years' important items of the self-check's cycle, with this year's questions they became."""
    submission = policy.get_submission_or_404(current_user, submission_id)
    state = service.load_state(submission, plain=True)
    return render_template("selfcheck/earlier.html", submission=submission, state=state)


@bp.get("/<int:submission_id>/print")
def print_view(submission_id):
    """The self-check on A4 for the file: every question with its answer and note, the scores and the
    boxes of 起案者 and 承認者 — the submitted snapshot once submitted, else the answers as they stand."""
    submission = policy.get_submission_or_404(current_user, submission_id)
    state = service.load_state(submission)
    snapshot = service.latest_snapshot(submission) if submission.frozen else None
    if snapshot is not None:
        frozen = json.loads(snapshot.content)["answers"]
        values = {a["question"]: a["value"] for a in frozen}
        notes = {a["question"]: a["note"] for a in frozen}
        applies = {a["question"]: a["applies"] for a in frozen}
        scores = snapshot.scores
    else:
        values, applies = state.values, state.applies
        notes = {n: a.note for n, a in state.answers.items()}
        scores = state.scores().as_dict()
    return render_template(
        "selfcheck/print.html",
        submission=submission,
        state=state,
        snapshot=snapshot,
        values=values,
        notes=notes,
        applies=applies,
        scores=scores,
        carried=state.carried if snapshot is None else set(),
    )


@bp.post("/<int:submission_id>/carry-over")
def carry_over(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_EDIT)
    try:
        done = run(carryover.start_from_last_year, current_user, submission, _lock_version())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)
    flash(
        f"前年度の回答を{done['copied']}問引き継ぎました。各設問の「前年度の回答・未確認」を確かめて、"
        "そのままでよければ「確認」を、変える場合は回答を選び直してください。"
        + (
            f"（{done['reference']}問は設問が変わったため、前年度の回答を参考として表示しています。）"
            if done["reference"]
            else ""
        ),
        "success",
    )
    return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)


@bp.post("/<int:submission_id>/confirm-carried")
def confirm_carried(submission_id):
    """「確認」 on one question or 「この大分類をすべて確認」: what the form holds is saved first (as
    「入力内容を保存」 would), then the carried answers named are confirmed, in one transaction."""
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_EDIT)
    state = service.load_state(submission)
    number = request.form.get("confirm", type=ident)
    code = request.form.get("confirm_category", "")
    if number is not None:
        numbers = [number]
    else:
        node = next((c for c in state.structure.categories if c.section.code == code), None)
        numbers = [q.number for q in node.all_questions()] if node else []
    if not numbers:
        flash("確認する設問を選んでください。", "error")
        return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)

    def save_and_confirm():
        service.save_all(current_user, submission, request.form, _lock_version())
        return carryover.confirm(current_user, submission, numbers)

    try:
        confirmed = run(save_and_confirm)
    except StaleError as exc:
        return _page(submission, status=exc.status, error=exc.message, posted=request.form)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)
    flash(
        f"前年度の回答{confirmed}問を確認しました。" if confirmed else "確認が必要な回答はありませんでした。", "success"
    )
    anchor = f"#q-{number}" if number is not None else f"#cat-{code}"
    category = request.form.get("cat")
    return redirect(url_for("selfcheck.show", submission_id=submission.id, cat=category or None) + anchor, code=303)


def _confirm_page(submission, error=None, status=200):
    """Before the final button: what is missing, by 大分類, or the scores that will be submitted."""
    state = service.load_state(submission)
    missing = {q.number for q in state.missing()}
    missing_by_category = [
        (cat, [q for q in cat.all_questions() if q.number in missing]) for cat in state.structure.categories
    ]
    needs_approval = approvals.required(submission.unit_id)
    return render_template(
        "selfcheck/confirm.html",
        submission=submission,
        state=state,
        error=error,
        needs_approval=needs_approval,
        rises=[] if missing else service.unexplained_rises(submission, state),
        awaiting=submission.status == SubmissionState.AWAITING_APPROVAL,
        approved=submission.status == SubmissionState.APPROVED,
        approval=approvals.current(submission) if needs_approval else None,
        approvers=approvals.approvers(submission.unit_id) if needs_approval else [],
        missing_by_category=[(cat, qs) for cat, qs in missing_by_category if qs],
        scores_dict=None if missing else state.scores().as_dict(),
    ), status


@recovers_from_stale_token("selfcheck.save_all")
def save_all_with_a_stale_token():
    """The no-JavaScript save sent after signing in again elsewhere: nothing saved, nothing lost."""
    submission = policy.get_submission_or_404(current_user, request.view_args["submission_id"], Action.SUBMISSION_EDIT)
    message = (
        "ログインし直したため、この画面は古い状態でした。入力内容は保存していません。"
        "下の内容を確かめて、もう一度「入力内容を保存」を押してください。"
    )
    return _page(submission, status=400, error=message, posted=request.form)


@bp.get("/<int:submission_id>/submit")
def confirm_submit(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_SUBMIT)
    if not submission.editable:
        flash("この自己点検は提出済みです。", "info")
        return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)
    return _confirm_page(submission)


@bp.post("/<int:submission_id>/submit")
def submit(submission_id):
    submission = policy.get_submission_or_404(current_user, submission_id, Action.SUBMISSION_SUBMIT)
    try:
        run(lambda: service.submit(current_user, submission, _lock_version()))
    except DomainError as exc:
        return _confirm_page(submission, exc.message, exc.status)
    flash("自己点検を提出しました。提出内容は固定され、変更できません。", "success")
    return redirect(url_for("selfcheck.show", submission_id=submission.id), code=303)
