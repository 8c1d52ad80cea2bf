"""Read-only oversight: ministries see their own units, the center all (with a ministry filter)."""

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from agencyapp import charts, policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import fiscal_year_label
from agencyapp.htmx import is_htmx
from agencyapp.inputs import ident
from agencyapp.models import Ministry, Submission
from agencyapp.services import oversight as service
from agencyapp.services import reminders
from agencyapp.services.checklists import load_structure
from agencyapp.services.selfcheck import latest_snapshot
from agencyapp.views.common import chosen_cycle, page_arg, page_count, past_the_last_page, per_page, run

bp = Blueprint("oversight", __name__, url_prefix="/oversight")


def _context():
    """Cycle, the ministry filter (center and admin only) and a label for the scope."""
    cycles, cycle = chosen_cycle()
    ministries = db.session.scalars(select(Ministry).order_by(Ministry.position)).all()
    if not policy.can(current_user, Action.OVERSIGHT_ANY_MINISTRY):
        ministry_id = policy.own_ministry_id(current_user)
    else:
        ministry_id = request.args.get("ministry", type=ident)
        if ministry_id and ministry_id not in {m.id for m in ministries}:
            abort(404)
    ministry = next((m for m in ministries if m.id == ministry_id), None)
    return cycles, cycle, ministries, ministry


def _category_labels(cycle):
    structure = load_structure(cycle.version)
    return [(c.section.code, f"{c.section.code}. {c.section.title}") for c in structure.categories]


@bp.get("/")
def home():
    cycles, cycle, ministries, ministry = _context()
    if cycle is None:
        return render_template("oversight/home.html", cycle=None)
    ministry_id = ministry.id if ministry else None
    totals = service.totals(current_user, cycle, ministry_id)
    size = per_page(2)
    page = page_arg()
    if redirect := past_the_last_page(page, totals["units"], size):
        return redirect
    rows = service.unit_rows(current_user, cycle, ministry_id, limit=size, offset=(page - 1) * size)
    own, national = service.category_comparison(current_user, cycle, ministry_id)
    scope_name = ministry.name if ministry else "全府省"
    series = [(scope_name, own), ("全国", national)] if ministry else [("全国", national)]
    chart = charts.bar_chart(
        f"大分類ごとの平均点（{scope_name + 'と' if ministry else ''}全国、3点満点）", _category_labels(cycle), series
    )
    trend = service.year_over_year(
        service.scope_of(current_user, ministry_id), cycle.version.edition, policy.scope_key(current_user, ministry_id)
    )
    trend_chart = (
        charts.bar_chart(
            f"{scope_name}の平均点の推移",
            [(y, fiscal_year_label(y)) for y, _, _ in trend],
            [(scope_name, {y: m for y, m, _ in trend})],
        )
        if len(trend) > 1
        else None
    )
    return render_template(
        "oversight/home.html",
        cycles=cycles,
        cycle=cycle,
        ministries=ministries,
        ministry=ministry,
        rows=rows,
        totals=totals,
        chart=chart,
        trend_chart=trend_chart,
        scope_name=scope_name,
        page=page,
        pages=page_count(totals["units"], size),
    )


@bp.get("/units/<int:unit_id>")
def unit(unit_id):
    cycles, cycle, _, _ = _context()
    unit = policy.get_unit_or_404(current_user, unit_id)
    if cycle is None:
        abort(404)
    submission = db.session.scalar(
        select(Submission).where(Submission.cycle_id == cycle.id, Submission.unit_id == unit.id)
    )
    # The answers over the years are asked for (htmx fills them into the page; without JavaScript the
    # whole page comes back with them), so that the page itself stays as light as before.
    history = service.unit_history(unit.id, cycle) if request.args.get("history") == "1" else None
    if history is not None and is_htmx():
        return render_template("oversight/_history.html", unit=unit, cycle=cycle, history=history)
    snapshot = latest_snapshot(submission) if submission else None
    if submission is not None:
        run(service.record_view, current_user, submission, "oversight")
    ministry_means = service.category_means(
        cycle.id, service.scope_of(current_user, unit.ministry_id), ("ministry", unit.ministry_id)
    )
    national = service.category_means(cycle.id, key=("nation",))
    own = {code: entry["mean"] for code, entry in snapshot.scores["by_category"].items()} if snapshot else {}
    chart = charts.bar_chart(
        f"{unit.name}の大分類ごとの平均点（府省・全国との比較）",
        _category_labels(cycle),
        [(unit.name, own), (unit.ministry.name, ministry_means), ("全国", national)],
    )
    trend = service.year_over_year(lambda column: column == unit.id, cycle.version.edition)
    trend_chart = (
        charts.bar_chart(
            f"{unit.name}の平均点の推移",
            [(y, fiscal_year_label(y)) for y, _, _ in trend],
            [(unit.name, {y: m for y, m, _ in trend})],
        )
        if len(trend) > 1
        else None
    )
    return render_template(
        "oversight/unit.html",
        cycles=cycles,
        cycle=cycle,
        unit=unit,
        submission=submission,
        snapshot=snapshot,
        chart=chart,
        trend_chart=trend_chart,
        points=service.issued_points(current_user, cycle.id, [unit.id])[unit.id],
        history=history,
        reminders=reminders.unit_reminders(unit.id, 10),
        selections=reminders.SELECTIONS,
        hearings=service.unit_hearings(current_user, unit.id),
    )


# The exports register on this blueprint from their own module.
from agencyapp.views import oversight_exports  # noqa: E402, F401
