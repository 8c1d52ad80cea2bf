"""年度点検の準備 (center): the cycles, and opening a new one for its target units."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from agencyapp.extensions import db
from agencyapp.formatting import fiscal_year_of, today_tokyo
from agencyapp.forms import iso_date
from agencyapp.inputs import ident, idents
from agencyapp.lifecycles import VersionState
from agencyapp.models import ChecklistVersion, Cycle, Submission, Unit
from agencyapp.services import DomainError, figure_cache, year_end
from agencyapp.services.checklists import load_structure
from agencyapp.services.cycles import open_cycle
from agencyapp.views.common import run

bp = Blueprint("cycles", __name__, url_prefix="/cycles")


@bp.get("/")
def index():
    # The number of target units per cycle is a count over every submission of every year: kept until a
    # cycle or a target is added (both raise the figures counter).
    targets = figure_cache.cached(
        ("cycle.targets",),
        lambda: dict(db.session.execute(select(Submission.cycle_id, func.count()).group_by(Submission.cycle_id)).all()),
    )
    rows = db.session.scalars(
        select(Cycle).options(joinedload(Cycle.version)).order_by(Cycle.fiscal_year.desc(), Cycle.id.desc())
    ).all()
    return render_template(
        "cycles/index.html",
        cycles=[(c, targets.get(c.id, 0)) for c in rows],
        past_due={c.id for c in rows if year_end.past_due(c)},
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    versions = db.session.scalars(
        select(ChecklistVersion)
        .where(ChecklistVersion.status == VersionState.PUBLISHED)
        .order_by(ChecklistVersion.fiscal_year.desc(), ChecklistVersion.id)
    ).all()
    form = request.form if request.method == "POST" else {}
    version_id = request.values.get("version_id", type=ident) or (versions[0].id if versions else None)
    version = next((v for v in versions if v.id == version_id), None)
    units = db.session.scalars(
        select(Unit)
        .where(Unit.active.is_(True))
        .options(joinedload(Unit.ministry))
        .order_by(Unit.ministry_id, Unit.position)
    ).all()
    error = None
    if request.method == "POST" and request.form.get("action") == "open":
        chosen = idents(request.form.getlist("unit_ids"))
        try:
            cycle = run(
                open_cycle,
                fiscal_year=request.form.get("fiscal_year", type=ident),
                version=version,
                title=request.form.get("title"),
                opens_on=iso_date(request.form.get("opens_on")),
                due_on=iso_date(request.form.get("due_on")),
                important_goal_numbers=sorted(idents(request.form.getlist("goals"))),
                important_label=(request.form.get("important_label") or "").strip()[:200],
                units=[u for u in units if u.id in chosen],
                actor=current_user,
            )
        except DomainError as exc:
            error = exc.message
        else:
            flash(f"{cycle.title}を開始しました（対象 {len(chosen)} 機関）。", "success")
            return redirect(url_for("cycles.index"), code=303)
    structure = load_structure(version) if version else None
    today = today_tokyo()
    return render_template(
        "cycles/new.html",
        versions=versions,
        version=version,
        structure=structure,
        units=units,
        form=form,
        error=error,
        default_year=fiscal_year_of(today) + (1 if today.month >= 10 else 0),
    ), (422 if error else 200)


@bp.route("/<int:cycle_id>/close", methods=["GET", "POST"])
def close(cycle_id):
    """年度の締め: what it will do, a confirmation, then done in one transaction."""
    cycle = db.session.get(Cycle, cycle_id) or abort(404)
    error = None
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            error = "締める前に、内容を確認したことを示すチェックを入れてください。"
        else:
            try:
                done = run(year_end.close, current_user, cycle)
            except DomainError as exc:
                error = exc.message
            else:
                flash(
                    f"{cycle.title}（{cycle.fiscal_year}年度）を締めました。遅延 {done.late}機関、"
                    f"改善点の繰越 {done.open_points}件。報告の数値を確定しました。",
                    "success",
                )
                return redirect(url_for("reports.show", cycle=cycle.id), code=303)
    closing = year_end.preview(cycle)
    return render_template("cycles/close.html", cycle=cycle, closing=closing, error=error), (422 if error else 200)
