"""府省・機関の管理 (system administrator)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from agencyapp.extensions import db
from agencyapp.models import Ministry, Unit
from agencyapp.services import DomainError
from agencyapp.services import organisations as service
from agencyapp.views.common import run

bp = Blueprint("organisations", __name__, url_prefix="/admin/organisations")


def _page(error=None, status=200):
    ministries = db.session.scalars(
        select(Ministry).options(selectinload(Ministry.units)).order_by(Ministry.position)
    ).all()
    return render_template(
        "admin/organisations.html", ministries=ministries, error=error, form=request.form if error else {}
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
            current_user, form.get("ministry_id", type=int), form.get("code"), form.get("name"), form.get("kind")
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
