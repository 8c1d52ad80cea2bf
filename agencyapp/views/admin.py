"""System administration: accounts (create, deactivate, unlock, set a password)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from agencyapp.extensions import db
from agencyapp.inputs import ident
from agencyapp.models import Ministry, Unit, User
from agencyapp.models.user import ROLE_LABELS
from agencyapp.services import DomainError
from agencyapp.services import auth as auth_service
from agencyapp.services import users as service
from agencyapp.views.common import page_arg, page_count, past_the_last_page, per_page, run

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
def users():
    text = (request.args.get("q") or "").strip()[:64]
    role = request.args.get("role") if request.args.get("role") in ROLE_LABELS else ""
    page = page_arg()
    rows, total = service.search_users(text, role, page, per_page())
    beyond = past_the_last_page(page, total, per_page())
    if beyond:
        return beyond
    return render_template(
        "admin/users.html",
        rows=rows,
        total=total,
        text=text,
        role=role,
        page=page,
        pages=page_count(total, per_page()),
        roles=ROLE_LABELS,
    )


def _units_of(ministry_id):
    """The active units of one ministry (the unit chooser lists one ministry's units, never all 2,000)."""
    if not ministry_id:
        return []
    return db.session.scalars(
        select(Unit)
        .where(Unit.active.is_(True), Unit.ministry_id == ministry_id)
        .options(joinedload(Unit.ministry))
        .order_by(Unit.position, Unit.id)
    ).all()


def _choices(user=None):
    """(units of the ministry chosen for the unit, every ministry, that ministry's id): the posted choice,
    else the ministry of the unit being posted or of the user's own unit."""
    form = request.form
    ministry_id = form.get("unit_ministry", type=ident)
    if not ministry_id and form.get("unit_id"):
        unit = db.session.get(Unit, form.get("unit_id", type=ident))
        ministry_id = unit.ministry_id if unit else None
    if not ministry_id and user is not None and user.unit_id:
        ministry_id = user.unit.ministry_id
    ministries = db.session.scalars(select(Ministry).order_by(Ministry.position)).all()
    return _units_of(ministry_id), ministries, ministry_id


@bp.get("/users/unit-options")
def unit_options():
    """The <option>s of one ministry's units, for the chooser (htmx swaps them into the unit select)."""
    units = _units_of(request.args.get("unit_ministry", type=ident))
    return render_template("admin/_unit_options.html", units=units, selected=None)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    error = None
    form = request.form
    if request.method == "POST":
        unit = db.session.get(Unit, form.get("unit_id", type=ident)) if form.get("unit_id") else None
        ministry = db.session.get(Ministry, form.get("ministry_id", type=ident)) if form.get("ministry_id") else None
        try:
            user = run(
                service.create_user,
                login_id=(form.get("login_id") or "").strip(),
                display_name=form.get("display_name") or "",
                role=form.get("role") or "",
                password=form.get("password") or "",
                unit=unit,
                ministry=ministry,
                email=(form.get("email") or "").strip(),
                actor=current_user,
                approver=form.get("approver") == "1",
            )
        except DomainError as exc:
            error = exc.message
        else:
            flash(
                f"アカウント {user.login_id} を作成しました。初期パスワードは本人に安全な方法で伝えてください。",
                "success",
            )
            return redirect(url_for("admin.user", user_id=user.id), code=303)
    units, ministries, unit_ministry = _choices()
    return render_template(
        "admin/user_new.html",
        units=units,
        ministries=ministries,
        unit_ministry=unit_ministry,
        roles=ROLE_LABELS,
        error=error,
        form=form,
    ), (422 if error else 200)


def _user(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _user_page(user, error=None, status=200, form=None, editing=False):
    units, ministries, unit_ministry = _choices(user)
    return render_template(
        "admin/user.html",
        user=user,
        error=error,
        units=units,
        ministries=ministries,
        unit_ministry=unit_ministry,
        roles=ROLE_LABELS,
        form=form or {},
        editing=editing,
    ), status


@bp.get("/users/<int:user_id>")
def user(user_id):
    return _user_page(_user(user_id))


@bp.post("/users/<int:user_id>/edit")
def edit_user(user_id):
    """Name, mail, and role and scope on a transfer."""
    user = _user(user_id)
    form = request.form
    unit = db.session.get(Unit, form.get("unit_id", type=ident)) if form.get("unit_id") else None
    ministry = db.session.get(Ministry, form.get("ministry_id", type=ident)) if form.get("ministry_id") else None
    try:
        run(
            service.update_user,
            current_user,
            user,
            display_name=form.get("display_name"),
            email=form.get("email"),
            role=form.get("role"),
            unit=unit,
            ministry=ministry,
            approver=form.get("approver") == "1",
        )
    except DomainError as exc:
        return _user_page(user, exc.message, exc.status, form=form, editing=True)
    flash(
        "アカウントを更新しました。役割や所属を変えた場合、この利用者のログイン中のセッションは無効になりました。",
        "success",
    )
    return redirect(url_for("admin.user", user_id=user.id), code=303)


def _act(user_id, call, success):
    user = _user(user_id)
    try:
        run(call, user)
    except DomainError as exc:
        return _user_page(user, exc.message, exc.status)
    flash(success, "success")
    return redirect(url_for("admin.user", user_id=user.id), code=303)


@bp.post("/users/<int:user_id>/active")
def set_active(user_id):
    active = request.form.get("active") == "1"
    return _act(
        user_id,
        lambda u: service.set_active(current_user, u, active),
        "アカウントを有効にしました。"
        if active
        else "アカウントを無効にしました。ログイン中のセッションも無効になりました。",
    )


@bp.post("/users/<int:user_id>/unlock")
def unlock(user_id):
    return _act(user_id, lambda u: auth_service.unlock(u, actor=current_user), "ロックを解除しました。")


@bp.post("/users/<int:user_id>/password")
def set_password(user_id):
    return _act(
        user_id,
        lambda u: auth_service.set_password(u, request.form.get("password") or "", actor=current_user),
        "パスワードを設定しました。この利用者のログイン中のセッションは無効になり、"
        "次のログインで本人が自分のパスワードに変更します。",
    )


@bp.get("/mail")
def mail_status():
    """Mails the queue has not sent: failed ones (with the reason, to send again) and those still waiting."""
    from agencyapp.services import notifications

    page = page_arg()
    rows, total = notifications.mail_problems(page, per_page())
    beyond = past_the_last_page(page, total, per_page())
    if beyond:
        return beyond
    return render_template("admin/mail.html", rows=rows, total=total, page=page, pages=page_count(total, per_page()))


@bp.post("/mail/<int:notification_id>/resend")
def resend_mail(notification_id):
    from agencyapp.services import notifications

    try:
        run(notifications.resend_mail, current_user, notification_id)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash("メールを送信待ちに戻しました。送信を順に試みます。", "success")
    return redirect(url_for("admin.mail_status"), code=303)
