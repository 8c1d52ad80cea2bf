"""Hearings and visits: candidates, the season view, one hearing's page and its actions, calendars."""

import calendar as calendar_module
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from agencyapp import policy, priority
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import TOKYO, today_tokyo
from agencyapp.inputs import ident
from agencyapp.lifecycles import HEARING, HEARING_DATED, HEARING_HELD, HearingState
from agencyapp.models import HearingFinding
from agencyapp.models.hearing import KIND_LABELS
from agencyapp.services import DomainError, calendars
from agencyapp.services import hearings as service
from agencyapp.views.common import chosen_cycle, page_arg, page_count, past_the_last_page, per_page, run

bp = Blueprint("hearings", __name__, url_prefix="/hearings")


def _weights():
    """(weights for this session, {field: message}): changed through the form, kept in the session cookie;
    an invalid value keeps its default and says why."""
    problems = {}
    if any(key.startswith("w_") for key in request.args):
        session["priority_weights"], problems = priority.check_weights(request.args)
    if request.args.get("reset_weights"):
        session.pop("priority_weights", None)
    return {**priority.WEIGHTS, **session.get("priority_weights", {})}, problems


@bp.get("/candidates")
def candidates():
    cycles, cycle = chosen_cycle()
    if cycle is None:
        return render_template("hearings/candidates.html", cycle=None, cycles=[])
    weights, weight_problems = _weights()
    ministry_id = request.args.get("ministry", type=ident)
    min_score = request.args.get("min_score", type=float)
    sort = request.args.get("sort", "score")
    if sort not in service.CANDIDATE_SORTS:
        sort = "score"
    size, page = per_page(2), page_arg()
    filters = {"min_score": min_score, "sort": sort}
    rows, total = service.candidate_page(
        current_user, cycle, weights, ministry_id, **filters, limit=size, offset=(page - 1) * size
    )
    if redirect_to := past_the_last_page(page, total, size):
        return redirect_to
    pages = page_count(total, size)
    return render_template(
        "hearings/candidates.html",
        cycles=cycles,
        cycle=cycle,
        rows=rows,
        weights=weights,
        labels=priority.LABELS,
        total=total,
        page=page,
        pages=pages,
        ministries=service.ministries(),
        ministry_id=ministry_id,
        min_score=min_score,
        sort=sort,
        kinds=KIND_LABELS,
        custom_weights=weights != priority.WEIGHTS,
        weight_problems=weight_problems,
    )


@bp.post("/create")
def create():
    _, cycle = chosen_cycle()
    if cycle is None:
        abort(404)
    try:
        created = run(
            service.create_hearings,
            current_user,
            cycle,
            request.form.getlist("unit_ids"),
            request.form.get("kind"),
            request.form.get("comment"),
            _weights()[0],
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("hearings.candidates", cycle=cycle.id), code=303)
    flash(f"{len(created)}機関を候補にしました。候補日時を提示してください。", "success")
    return redirect(url_for("hearings.index", cycle=cycle.id), code=303)


@bp.get("/")
def index():
    cycles, cycle = chosen_cycle()
    if cycle is None:
        return render_template("hearings/index.html", cycle=None, cycles=[])
    statuses = HearingState.choices(policy.visible_hearing_states(current_user))
    filters = service.SeasonFilters(
        status=request.args.get("status") if request.args.get("status") in statuses else "",
        staff_id=request.args.get("staff", type=ident),
        ministry_id=request.args.get("ministry", type=ident),
        page=page_arg(),
    )
    rows, total = service.season(current_user, cycle, filters, per_page())
    beyond = past_the_last_page(filters.page, total, per_page())
    if beyond:
        return beyond
    try:
        year, month = (int(x) for x in (request.args.get("month") or "").split("-"))
        date(year, month, 1)
    except ValueError:
        year, month = today_tokyo().year, today_tokyo().month
    events = service.month_hearings(current_user, cycle, year, month, filters)
    by_day = {}
    for hearing in events:
        by_day.setdefault(hearing.starts_at.astimezone(TOKYO).date(), []).append(hearing)
    weeks = calendar_module.Calendar(firstweekday=6).monthdatescalendar(year, month)
    previous = date(year - (month == 1), (month - 2) % 12 + 1, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return render_template(
        "hearings/index.html",
        cycles=cycles,
        cycle=cycle,
        rows=rows,
        total=total,
        filters=filters,
        pages=page_count(total, per_page()),
        statuses=statuses,
        staff=service.center_staff(),
        ministries=service.ministries(),
        weeks=weeks,
        by_day=by_day,
        year=year,
        month=month,
        previous=previous,
        following=following,
        feed_url=_feed_url(),
    )


def _feed_url():
    return url_for(
        "hearings.feed", user_id=current_user.id, signature=calendars.feed_signature(current_user), _external=True
    )


def _page(hearing, error=None, status=200, conflict=None, form=None):
    hearing = service.load_hearing(hearing.id)
    manage = policy.can(current_user, Action.HEARING_MANAGE, hearing)
    return render_template(
        "hearings/show.html",
        hearing=hearing,
        error=error,
        conflict=conflict,
        form=form or {},
        manage=manage,
        respond=policy.can(current_user, Action.HEARING_RESPOND, hearing),
        see_record=policy.can(current_user, Action.HEARING_SEE_RECORD, hearing),
        arranging=HEARING.allows("propose", hearing.status),  # dates are still being agreed
        dated=hearing.state in HEARING_DATED,
        held=hearing.state in HEARING_HELD,
        open_slots=[s for s in hearing.slots if not s.withdrawn],
        slot_rows=range(1, service.MAX_SLOTS + 1),
        choosable={s.id for s in service.choosable_slots(hearing, manage)},
    ), status


@bp.get("/<int:hearing_id>")
def show(hearing_id):
    return _page(policy.get_hearing_or_404(current_user, hearing_id))


def _act(hearing_id, action, call, success):
    """Fetch and authorise, run one service call, then 303 back or show the page with the message."""
    hearing = policy.get_hearing_or_404(current_user, hearing_id, action)
    lock = request.form.get("lock_version", type=ident)
    try:
        run(call, hearing, lock)
    except service.DoubleBooking as exc:
        return _page(hearing, exc.message, exc.status, conflict=exc.details.get("conflicts"), form=request.form)
    except DomainError as exc:
        return _page(hearing, exc.message, exc.status, form=request.form)
    flash(success, "success")
    return redirect(url_for("hearings.show", hearing_id=hearing.id), code=303)


def _slot_inputs():
    return [
        service.parse_slot(
            request.form.get(f"day-{i}"),
            request.form.get(f"start-{i}"),
            request.form.get(f"end-{i}"),
            request.form.get(f"place-{i}"),
        )
        for i in range(1, service.MAX_SLOTS + 1)
    ]


@bp.post("/<int:hearing_id>/propose")
def propose(hearing_id):
    return _act(
        hearing_id,
        Action.HEARING_MANAGE,
        lambda h, lock: service.propose_slots(current_user, h, _slot_inputs(), lock),
        "候補日時を提示しました。機関に通知しました。",
    )


@bp.post("/<int:hearing_id>/pick")
def pick(hearing_id):
    return _act(
        hearing_id,
        Action.HEARING_RESPOND,
        lambda h, lock: service.pick_slot(
            current_user, h, request.form.get("slot_id", type=ident), request.form.get("comment"), lock
        ),
        "日時を選びました。センターの確定をお待ちください。",
    )


@bp.post("/<int:hearing_id>/counter")
def counter(hearing_id):
    return _act(
        hearing_id,
        Action.HEARING_RESPOND,
        lambda h, lock: service.counter_propose(current_user, h, _slot_inputs(), request.form.get("comment"), lock),
        "別の候補日時を提案しました。",
    )


@bp.post("/<int:hearing_id>/confirm")
def confirm(hearing_id):
    return _act(
        hearing_id,
        Action.HEARING_MANAGE,
        lambda h, lock: service.confirm(
            current_user,
            h,
            request.form.get("slot_id", type=ident),
            request.form.get("place"),
            request.form.get("force") == "1",
            lock,
        ),
        "日時を確定しました。機関と省統括課に通知しました。",
    )


@bp.post("/<int:hearing_id>/reschedule")
def reschedule(hearing_id):
    return _act(
        hearing_id,
        Action.HEARING_MANAGE,
        lambda h, lock: service.reschedule(current_user, h, request.form.get("reason"), lock),
        "確定を取り消しました。新しい候補日時を提示してください。",
    )


@bp.post("/<int:hearing_id>/cancel")
def cancel(hearing_id):
    return _act(
        hearing_id,
        Action.HEARING_MANAGE,
        lambda h, lock: service.cancel(current_user, h, request.form.get("reason"), lock),
        "中止しました。",
    )


@bp.post("/<int:hearing_id>/documents")
def documents(hearing_id):
    return _act(
        hearing_id,
        Action.HEARING_MANAGE,
        lambda h, lock: service.update_documents(current_user, h, request.form.get("documents"), lock),
        "準備資料を更新しました。",
    )


@bp.post("/<int:hearing_id>/record")
def record(hearing_id):
    form = request.form
    return _act(
        hearing_id,
        Action.HEARING_MANAGE,
        lambda h, lock: service.save_record(
            current_user,
            h,
            form.get("center_attendees"),
            form.get("agency_attendees"),
            form.get("minutes"),
            form.get("internal_notes"),
            lock,
        ),
        "記録を保存しました。",
    )


@bp.post("/<int:hearing_id>/findings")
def add_finding(hearing_id):
    return _act(
        hearing_id,
        Action.HEARING_MANAGE,
        lambda h, lock: service.add_finding(
            current_user, h, request.form.get("question", type=ident), request.form.get("text")
        ),
        "所見を追加しました。",
    )


@bp.post("/<int:hearing_id>/findings/<int:finding_id>/point")
def finding_to_point(hearing_id, finding_id):
    def call(hearing, _lock):
        finding = db.session.get(HearingFinding, finding_id)
        if finding is None or finding.hearing_id != hearing.id:
            abort(404)
        service.finding_to_point(current_user, hearing, finding)

    return _act(
        hearing_id,
        Action.HEARING_MANAGE,
        call,
        "所見を改善点（下書き）にしました。審査画面から改善依頼として発行できます。",
    )


@bp.post("/<int:hearing_id>/publish")
def publish(hearing_id):
    return _act(
        hearing_id,
        Action.HEARING_MANAGE,
        lambda h, lock: service.publish_report(current_user, h, lock),
        "報告を公開しました。機関と省統括課に通知しました。",
    )


def _ics_response(body, filename):
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/<int:hearing_id>.ics")
def ics(hearing_id):
    hearing = policy.get_hearing_or_404(current_user, hearing_id)
    if hearing.starts_at is None or hearing.state not in HEARING_DATED:  # not in a calendar (or cancelled)
        abort(404)
    return _ics_response(calendars.to_ics([hearing], "ヒアリング・訪問"), f"hearing-{hearing.id}.ics")


@bp.get("/feed/<int:user_id>/<signature>.ics")
def feed(user_id, signature):
    """A user's calendar feed; the signed URL is the credential, so it never shows anything else."""
    user = calendars.feed_user(user_id, signature)
    if user is None:
        abort(404)
    return _ics_response(
        calendars.to_ics(calendars.calendar_hearings(user), "住基ネット ヒアリング・訪問"), "hearings.ics"
    )
