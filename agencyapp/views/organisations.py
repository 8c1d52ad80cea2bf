"""府省・機関の管理 (system administrator)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from agencyapp.extensions import db
from agencyapp.inputs import ident
from agencyapp.models import Ministry, Unit
from agencyapp.services import DomainError, matches
from agencyapp.services import organisations as service
from agencyapp.views.common import page_arg, page_count, past_the_last_page, per_page, run

bp = Blueprint("organisations", __name__, url_prefix="/admin/organisations")


def _page(error=None, status=200):
    """Ministries with their unit counts, and one page of units (search by name or code, one ministry)."""
    ministries = db.session.execute(
        select(Ministry, func.count(Unit.id))
        .outerjoin(Unit, Unit.ministry_id == Ministry.id)
        .group_by(Ministry.id)
        .order_by(Ministry.position)
    ).all()
    ministry_id = request.args.get("ministry", type=ident)
    if ministry_id and ministry_id not in {m.id for m, _ in ministries}:
        abort(404)
    search = (request.args.get("q") or "").strip()[:100]
    stmt = select(Unit).join(Ministry, Ministry.id == Unit.ministry_id)
    if ministry_id:
        stmt = stmt.where(Unit.ministry_id == ministry_id)
    if search:
        stmt = stmt.where(matches(search, Unit.name, Unit.code))
    total = db.session.scalar(stmt.with_only_columns(func.count()))
    size, page = per_page(2), page_arg()
    if status == 200 and (beyond := past_the_last_page(page, total, size)):
        return beyond
    units = db.session.scalars(
        stmt.options(contains_eager(Unit.ministry))
        .order_by(Ministry.position, Unit.position, Unit.id)
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return render_template(
        "admin/organisations.html",
        ministries=ministries,
        units=units,
        total=total,
        page=page,
        pages=page_count(total, size),
        ministry_id=ministry_id,
        search=search,
        error=error,
        form=request.form if error else {},
    ), status


@bp.get("/")
def index():
    return _page()


def _act(call, success):
    try:
        run(call)
    except DomainError as exc:
        return _page(exc.message, exc.status)
    flash(success, "success")
    return redirect(url_for("organisations.index"), code=303)


@bp.post("/ministries")
def add_ministry():
    form = request.form
    return _act(lambda: service.add_ministry(current_user, form.get("code"), form.get("name")), "府省を追加しました。")


@bp.post("/units")
def add_unit():
    form = request.form
    return _act(
        lambda: service.add_unit(
            current_user, form.get("ministry_id", type=ident), form.get("code"), form.get("name"), form.get("kind")
        ),
        "機関を追加しました。",
    )


@bp.post("/units/<int:unit_id>")
def update_unit(unit_id):
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        abort(404)
    form = request.form
    return _act(
        lambda: service.update_unit(current_user, unit, form.get("name"), form.get("kind"), form.get("active") == "1"),
        "機関を更新しました。",
    )
