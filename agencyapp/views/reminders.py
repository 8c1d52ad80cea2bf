"""督促 (center): choose units by their state in a cycle, send them a reminder from a phrase, see what was sent."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from agencyapp.inputs import ident, idents
from agencyapp.services import DomainError, hearings, reminders
from agencyapp.views.common import chosen_cycle, page_arg, page_count, past_the_last_page, per_page, run

bp = Blueprint("reminders", __name__, url_prefix="/reminders")


def _filters():
    selection = request.values.get("selection", "unsubmitted")
    if selection not in reminders.SELECTIONS:
        selection = "unsubmitted"
    return selection, request.values.get("ministry", type=ident), (request.values.get("q") or "").strip()[:100]


def _page(cycle, cycles, error=None, field="", status=200, message=""):
    selection, ministry_id, search = _filters()
    size, page = per_page(2), page_arg()
    rows, total = reminders.targets(current_user, cycle, selection, ministry_id, search, size, (page - 1) * size)
    history_page = max(request.args.get("hpage", 1, type=ident) or 1, 1)
    sent, sent_total = reminders.history(cycle, 20, (history_page - 1) * 20)
    return render_template(
        "reminders/index.html",
        cycle=cycle,
        cycles=cycles,
        rows=rows,
        total=total,
        page=page,
        pages=page_count(total, size),
        selection=selection,
        ministry_id=ministry_id,
        search=search,
        selections=reminders.SELECTIONS,
        ministries=hearings.ministries(),
        phrases=reminders.phrases(),
        sent=sent,
        sent_total=sent_total,
        history_page=history_page,
        history_pages=page_count(sent_total, 20),
        error=error,
        field=field,
        message=message,
    ), status


@bp.get("/")
def index():
    cycles, cycle = chosen_cycle()
    if cycle is None:
        return render_template("reminders/index.html", cycle=None, cycles=cycles)
    selection, ministry_id, search = _filters()
    _, total = reminders.targets(current_user, cycle, selection, ministry_id, search, 0, 0)
    redirect_ = past_the_last_page(page_arg(), total, per_page(2))
    return redirect_ or _page(cycle, cycles)


@bp.post("/")
def send():
    cycles, cycle = chosen_cycle()
    if cycle is None:
        return redirect(url_for("reminders.index"), code=303)
    selection, ministry_id, search = _filters()
    message = reminders.message_of(request.form.get("message", ""), request.form.get("phrase_id", type=ident))
    every = request.form.get("scope") == "all"
    unit_ids = None if every else idents(request.form.getlist("unit_ids"))
    if request.form.get("confirm") != "1":
        return _page(cycle, cycles, "送信する前に、確認欄にチェックを入れてください。", "confirm", 422, message)
    try:
        done, skipped = run(
            reminders.send, current_user, cycle, selection, message, unit_ids, ministry_id=ministry_id, search=search
        )
    except DomainError as exc:
        return _page(cycle, cycles, exc.message, exc.details.get("field", ""), 422, message)
    flash(
        f"{done}機関に督促を送りました（アプリ内の通知とメール）。"
        + (f"本日すでに同じ督促を受けた{skipped}機関には送っていません。" if skipped else ""),
        "success",
    )
    return redirect(
        url_for("reminders.index", cycle=cycle.id, selection=selection, ministry=ministry_id or None, q=search or None),
        code=303,
    )
