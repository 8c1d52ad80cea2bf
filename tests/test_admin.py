"""System administration of accounts: create, deactivate, unlock, set a password; admins only."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.models import AuditEvent, User
from tests.factories import PASSWORD

GOOD = "霞が関の朝は早いが珈琲は旨い"


def admin_web(make_web):
    web = make_web()
    web.login("admin", PASSWORD)
    return web


def user(login_id):
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.login_id == login_id))


def test_admin_creates_an_agency_user_with_the_password_policy(ctx, world, make_web):
    web = admin_web(make_web)
    web.get("/admin/users/new")
    data = {
        "login_id": "nenkin-02",
        "display_name": "年金 二郎",
        "role": "agency",
        "unit_id": world.unit_a.id,
        "email": "nenkin-02@example.jp",
        "password": "password1234",
    }
    response = web.post("/admin/users/new", data)
    assert response.status_code == 422 and "推測されやすい" in response.get_data(as_text=True)
    assert user("nenkin-02") is None
    assert web.post("/admin/users/new", {**data, "unit_id": ""} | {"password": GOOD}).status_code == 422
    response = web.post("/admin/users/new", {**data, "password": GOOD})
    assert response.status_code == 303
    created = user("nenkin-02")
    assert created.unit_id == world.unit_a.id and created.password_hash.startswith("$argon2id$")
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.created")).actor_id == world.admin.id
    fresh = make_web()
    fresh.login("nenkin-02", GOOD)
    assert "年金局" in fresh.get("/").get_data(as_text=True)


def test_deactivation_ends_the_users_sessions_at_once(ctx, world, make_web):
    agency = make_web()
    agency.login("agency-a", PASSWORD)
    assert agency.get("/").status_code == 200
    web = admin_web(make_web)
    web.get(f"/admin/users/{world.agency.id}")
    assert web.post(f"/admin/users/{world.agency.id}/active", {"active": "0"}).status_code == 303
    assert user("agency-a").active is False
    assert agency.client.get("/").status_code == 302  # back to the login page
    assert web.post(f"/admin/users/{world.admin.id}/active", {"active": "0"}).status_code == 422  # not oneself
    assert web.post(f"/admin/users/{world.agency.id}/active", {"active": "1"}).status_code == 303
    assert user("agency-a").active is True


def test_admin_unlocks_and_sets_a_password(ctx, world, make_web):
    locked = user("agency-b")
    locked.locked_until = datetime.now(UTC) + timedelta(minutes=10)
    db.session.commit()
    web = admin_web(make_web)
    web.get(f"/admin/users/{locked.id}")
    assert web.post(f"/admin/users/{locked.id}/unlock").status_code == 303
    assert user("agency-b").locked_until is None
    assert web.post(f"/admin/users/{locked.id}/password", {"password": "short"}).status_code == 422
    assert web.post(f"/admin/users/{locked.id}/password", {"password": GOOD}).status_code == 303
    fresh = make_web()
    fresh.login("agency-b", GOOD)  # the new password signs in; the user is then asked to choose their own
    response = fresh.client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")


def test_user_list_is_searchable_and_admin_only(ctx, world, make_web):
    web = admin_web(make_web)
    page = web.get("/admin/users?q=agency").get_data(as_text=True)
    assert "agency-a" in page and "ministry-a" not in page
    assert "ministry-a" in web.get("/admin/users?role=ministry").get_data(as_text=True)
    for login_id in ("center", "agency-a", "ministry-a"):
        other = make_web()
        other.login(login_id, PASSWORD)
        assert other.get("/admin/users").status_code == 403
        assert other.post(f"/admin/users/{world.agency_b.id}/unlock").status_code == 403


def test_a_deactivated_user_is_told_why_the_session_ended(ctx, world, make_web):
    agency = make_web()
    agency.login("agency-a", PASSWORD)
    web = admin_web(make_web)
    web.get(f"/admin/users/{world.agency.id}")
    web.post(f"/admin/users/{world.agency.id}/active", {"active": "0"})
    response = agency.client.get("/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == "/login" and "このアカウントは無効になっている" in page
    assert "このアカウントは無効" not in agency.client.get("/login").get_data(as_text=True)  # said once


def test_a_session_ended_elsewhere_is_not_called_deactivated(ctx, world, make_web):
    first, second = make_web(), make_web()
    first.login("agency-a", PASSWORD)
    second.login("agency-a", PASSWORD)
    second.logout()  # rotates the token: the first session ends too
    page = first.client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "ログイン" in page and "無効" not in page


def test_admin_edits_a_user_on_transfer_and_the_old_sessions_end(ctx, world, make_web):
    agency = make_web()
    agency.login("agency-a", PASSWORD)
    web = admin_web(make_web)
    web.get(f"/admin/users/{world.agency.id}")
    bad = web.post(
        f"/admin/users/{world.agency.id}/edit", {"display_name": "年金 花子", "role": "agency", "unit_id": ""}
    )
    assert bad.status_code == 422 and "所属機関が必要" in bad.get_data(as_text=True)
    response = web.post(
        f"/admin/users/{world.agency.id}/edit",
        {"display_name": "雇用 花子", "email": "koyo@example.invalid", "role": "agency", "unit_id": world.unit_a2.id},
    )
    assert response.status_code == 303
    moved = user("agency-a")
    assert (moved.display_name, moved.email, moved.unit_id) == ("雇用 花子", "koyo@example.invalid", world.unit_a2.id)
    assert agency.client.get("/").status_code == 302  # the old unit's pages are gone from the old session
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated"))
    assert event.before["unit"] == world.unit_a.id and event.after["unit"] == world.unit_a2.id


def test_a_password_set_by_the_admin_must_be_changed_at_the_next_sign_in(ctx, world, make_web):
    web = admin_web(make_web)
    web.get(f"/admin/users/{world.agency_b.id}")
    assert web.post(f"/admin/users/{world.agency_b.id}/password", {"password": GOOD}).status_code == 303
    assert user("agency-b").must_change_password is True
    fresh = make_web()
    fresh.login("agency-b", GOOD)
    response = fresh.client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")
    assert "ご自身のパスワードに変更してください" in fresh.client.get("/account/password").get_data(as_text=True)
    fresh.get("/account/password")
    mine = "Another-Horse-Staple-97"
    changed = fresh.post(
        "/account/password", {"current_password": GOOD, "new_password": mine, "confirm_password": mine}
    )
    assert changed.status_code == 303, changed.get_data(as_text=True)[:2000]
    assert user("agency-b").must_change_password is False
    assert fresh.client.get("/").status_code == 200


def test_the_unit_chooser_lists_one_ministrys_units_not_every_unit(ctx, world, make_web):
    """With 2,000 units the account forms offer the units of the chosen ministry only."""
    web = admin_web(make_web)
    page = web.get(f"/admin/users/{world.agency.id}").get_data(as_text=True)
    chooser = page.split('id="unit-id"')[1].split("</select>")[0]
    assert "年金局" in chooser and "雇用保険課" in chooser and "旅券" not in chooser
    assert f'<option value="{world.agency.unit_id}" selected>' in chooser
    options = web.get(f"/admin/users/unit-options?unit_ministry={world.ministry_b.id}").get_data(as_text=True)
    assert "旅券" in options and "年金局" not in options and "<html" not in options
    assert "先に府省を選んでください" in web.get("/admin/users/unit-options").get_data(as_text=True)
    new = web.get("/admin/users/new").get_data(as_text=True)
    assert "先に府省を選んでください" in new.split('id="unit_id"')[1].split("</select>")[0]
    other = make_web()
    other.login("center", PASSWORD)
    assert other.get("/admin/users/unit-options?unit_ministry=1").status_code == 403
