"""Improvement points as everyone in scope sees them; the agency's answers and the center's verdicts."""

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from agencyapp import attachments, policy
from agencyapp.actions import Action
from agencyapp.forms import iso_date
from agencyapp.htmx import is_htmx
from agencyapp.inputs import ident
from agencyapp.lifecycles import POINT, PointState
from agencyapp.services import DomainError, workflow
from agencyapp.services import improvements as service
from agencyapp.services.cycles import cycles_to_choose
from agencyapp.views.common import chosen_cycle, page_arg, page_count, past_the_last_page, per_page, run

ISSUED_STATES = PointState.choices(s for s in PointState if s is not POINT.initial)

bp = Blueprint("improvements", __name__, url_prefix="/improvements")


@bp.get("/")
def index():
    statuses = ISSUED_STATES  # the list shows issued points: drafts belong to no request yet
    every_year = request.args.get("cycle") == "all"
    cycles, cycle = chosen_cycle() if not every_year else (cycles_to_choose(), None)
    filters = service.PointFilters(
        status=request.args.get("status") if request.args.get("status") in statuses else "",
        search=(request.args.get("q") or "").strip()[:100],
        overdue=request.args.get("overdue") == "1",
        page=page_arg(),
        cycle_id=cycle.id if cycle else None,
    )
    rows, total = service.visible_points(current_user, filters, per_page())
    beyond = past_the_last_page(filters.page, total, per_page())
    if beyond:
        return beyond
    context = dict(
        cycles=cycles,
        cycle=cycle,
        every_year=every_year,
        rows=rows,
        total=total,
        filters=filters,
        statuses=statuses,
        pages=page_count(total, per_page()),
        is_overdue=service.is_overdue,
    )
    if is_htmx() and request.headers.get("HX-Target") == "point-list":
        return render_template("improvements/_list_table.html", **context)
    return render_template("improvements/index.html", **context)


def _point_page(point, error=None, status=200, form=None):
    """The point page; after a refused answer ``form`` keeps what the agency typed."""
    return render_template(
        "improvements/point.html",
        point=point,
        history=service.point_history(point),
        error=error,
        form=form or {},
        overdue=service.is_overdue(point),
        can_answer=workflow.permitted(current_user, point, "answer"),
        can_withdraw=workflow.permitted(current_user, point, "withdraw") and point.answer_seen_at is None,
        can_decide=workflow.permitted(current_user, point, "close"),
    ), status


@bp.get("/points/<int:point_id>")
def point(point_id):
    found = policy.get_point_or_404(current_user, point_id)
    run(service.mark_answer_seen, current_user, found)
    return _point_page(found)


@bp.post("/points/<int:point_id>/withdraw")
def withdraw(point_id):
    return _act(
        point_id,
        Action.POINT_ANSWER,
        lambda point, lock: service.withdraw_answer(current_user, point, lock),
        "回答を取り下げました。内容を修正して、もう一度回答してください。",
    )


def _act(point_id, action, call, success):
    """Fetch and authorise, run one service call; 303 back, or the page with the message and the input."""
    point = policy.get_point_or_404(current_user, point_id, action)
    try:
        run(call, point, request.form.get("lock_version", type=ident))
    except DomainError as exc:
        return _point_page(point, exc.message, exc.status, form=request.form)
    flash(success, "success")
    return redirect(url_for("improvements.point", point_id=point.id), code=303)


@bp.post("/points/<int:point_id>/answer")
def answer(point_id):
    return _act(
        point_id,
        Action.POINT_ANSWER,
        lambda point, lock: service.answer_point(
            current_user,
            point,
            request.form.get("plan"),
            iso_date(request.form.get("plan_due_on")),
            request.form.get("report"),
            request.files.get("attachment"),
            lock,
        ),
        "回答を送信しました。センターの確認をお待ちください。",
    )


@bp.post("/points/<int:point_id>/return")
def return_point(point_id):
    return _act(
        point_id,
        Action.POINT_RETURN,
        lambda point, lock: service.return_point(current_user, point, request.form.get("comment"), lock),
        "回答を差し戻しました。機関に通知しました。",
    )


@bp.post("/points/<int:point_id>/close")
def close_point(point_id):
    return _act(
        point_id,
        Action.POINT_CLOSE,
        lambda point, lock: service.close_point(current_user, point, request.form.get("comment"), lock),
        "改善点を完了にしました。機関に通知しました。",
    )


@bp.get("/attachments/<int:attachment_id>")
def attachment(attachment_id):
    row = policy.get_attachment_or_404(current_user, attachment_id)
    data = attachments.read(row.stored_name)
    if data is None:
        current_app.logger.error("attachment %s is missing from storage", row.id)
        abort(404)
    return send_file(
        io.BytesIO(data), mimetype=row.content_type, as_attachment=True, download_name=row.original_name, max_age=0
    )


@bp.get("/requests/<int:request_id>", endpoint="request")
def show_request(request_id):
    """The 改善依頼書, printable on A4."""
    row = policy.get_request_or_404(current_user, request_id)
    return render_template(
        "improvements/request.html", request_row=row, points=row.points, is_overdue=service.is_overdue
    )
