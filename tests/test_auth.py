"""Sign-in, lockout, sign-out, password policy and session lifetime (ENGINEERING.md, security tests 1-8).

Database checks open their own short application context, so they read what the
requests committed and never share a session with them.
"""

import random
import re
import string
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import itsdangerous.timed
import pytest
from sqlalchemy import select

from agencyapp import passwords, security
from agencyapp.extensions import db
from agencyapp.models import AuditEvent, User
from agencyapp.services import auth as auth_service
from tests import factories
from tests.factories import PASSWORD

COOKIE = "agencyapp_session"
GENERIC_FAILURE = "ログインIDまたはパスワードが正しくありません。"
LOGIN_ERROR = re.compile(r'id="login-error">([^<]*)</p>')
IDLE_MESSAGE = "一定時間操作がなかったため"


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def user(app):
    """A centre user (no unit needed) with factories.PASSWORD; returns its login id."""
    with app.app_context():
        factories.make_user("center-user", "center", name="情報 太郎")
        db.session.commit()
        db.session.remove()
    return "center-user"


@pytest.fixture
def scene(world):
    """Ids from conftest's `world`: agency A's login id, submission and an unconditional question."""
    question = next(q for q in factories.load_structure(world.cycle.version).questions if not q.conditions)
    return SimpleNamespace(
        agency=world.agency.login_id,
        center=world.center.login_id,
        submission_a=world.submission_a.id,
        question=question.number,
    )


def login_error(response):
    match = LOGIN_ERROR.search(response.get_data(as_text=True))
    return match.group(1) if match else None


def session_cookie(client):
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def client_with_cookie(app, value):
    client = app.test_client()
    client.set_cookie(COOKIE, value)
    return client


def redirects_to_login(response):
    return response.status_code in (302, 303) and urlsplit(response.headers["Location"]).path == "/login"


def signed_in(client):
    response = client.get("/")
    if response.status_code == 200:
        return True
    assert redirects_to_login(response), (response.status_code, response.headers.get("Location"))
    return False


def post_login(web, login_id, password, next_=None):
    web.get("/login")
    url = "/login" if next_ is None else "/login?" + urlencode({"next": next_})
    return web.post(url, {"username": login_id, "password": password})


def db_user(app, login_id):
    with app.app_context():
        found = db.session.scalar(select(User).where(User.login_id == login_id))
        db.session.expunge_all()
        db.session.remove()
        return found


def audit_rows(app, action=None):
    with app.app_context():
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        rows = db.session.scalars(stmt).all()
        db.session.expunge_all()
        db.session.remove()
        return rows


def change_password(web, current, new, confirm=None):
    web.get("/account/password")
    return web.post(
        "/account/password",
        {
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


class Clock:
    """A clock for the session code and the cookie signer; starts at the real time."""

    def __init__(self):
        self.now = datetime.now(UTC)

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return clock.now.astimezone(tz) if tz else clock.now.replace(tzinfo=None)

    monkeypatch.setattr(security, "datetime", FrozenDatetime)
    monkeypatch.setattr(auth_service, "_now", lambda: clock.now)
    monkeypatch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: clock.now.timestamp()))
    return clock


# --- signing in ---------------------------------------------------------------------------


def test_login_success_redirects_with_303_to_home(web, user):
    response = post_login(web, user, PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert web.get("/").status_code == 200


def test_login_success_and_failure_are_audited(app, web, user):
    post_login(web, user, "wrong-password-here")
    post_login(web, user, PASSWORD)
    actions = [row.action for row in audit_rows(app)]
    assert actions == ["login.failure", "login.success"]


def test_session_cookie_changes_at_login_and_the_pre_login_cookie_stays_anonymous(app, web, user):
    web.get("/login")
    before = session_cookie(web.client)
    assert before, "the login page sets a session cookie (it carries the CSRF token)"
    post_login(web, user, PASSWORD)
    after = session_cookie(web.client)
    assert after and after != before
    assert signed_in(web.client)
    assert not signed_in(client_with_cookie(app, before))


def test_next_is_followed_for_a_local_path(web, user):
    response = post_login(web, user, PASSWORD, next_="/account/password")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/password"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/login",
        "https://evil.example",
        "http://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_pointing_off_site_is_refused_and_login_goes_home(web, user, target):
    response = post_login(web, user, PASSWORD, next_=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_wrong_password_and_unknown_user_get_the_same_message(web, user, monkeypatch):
    verifications = []
    real_verify = passwords.verify_password

    def counting_verify(stored_hash, password):
        verifications.append(stored_hash)
        return real_verify(stored_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting_verify)

    wrong = post_login(web, user, "Wrong-Horse-Battery-42")
    wrong_verifications = len(verifications)
    unknown = post_login(web, "no-such-user", "Wrong-Horse-Battery-42")
    unknown_verifications = len(verifications) - wrong_verifications

    assert wrong.status_code == unknown.status_code
    assert wrong.status_code in (200, 401, 422)
    assert login_error(wrong) == login_error(unknown) == GENERIC_FAILURE
    # Rough timing: both paths run exactly one (costly) argon2 verification.
    assert wrong_verifications == unknown_verifications == 1


def test_inactive_account_with_the_right_password_gets_the_generic_message(app, web, user):
    with app.app_context():
        db.session.scalar(select(User).where(User.login_id == user)).active = False
        db.session.commit()
        db.session.remove()
    response = post_login(web, user, PASSWORD)
    assert login_error(response) == GENERIC_FAILURE
    assert not signed_in(web.client)


# --- lockout ------------------------------------------------------------------------------


def _fail(web, login_id, times):
    return [post_login(web, login_id, f"Wrong-Password-{i}-xyz") for i in range(times)]


def test_five_wrong_passwords_pause_unknown_browsers_with_the_same_message_even_for_the_right_password(app, web, user):
    responses = _fail(web, user, 5)
    assert [login_error(r) for r in responses] == [GENERIC_FAILURE] * 5
    assert {r.status_code for r in responses} == {422}

    stored = db_user(app, user)
    remaining = stored.locked_until - datetime.now(UTC)
    assert timedelta(seconds=50) < remaining <= timedelta(minutes=1)

    right = post_login(web, user, PASSWORD)
    assert right.status_code == 422 and login_error(right) == GENERIC_FAILURE
    assert not signed_in(web.client)


def test_unknown_user_wrong_password_and_paused_account_look_the_same(app, make_web, user, monkeypatch):
    """Same message, same status and one password check each (the time of argon2)."""
    checks = []
    real_verify = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda *a: checks.append(1) or real_verify(*a))
    with app.app_context():
        factories.make_user("other-user", "center")
        db.session.commit()
        db.session.remove()
    _fail(make_web(), user, 5)

    answers = {}
    for case, (login_id, password) in {
        "unknown": ("nobody-at-all", PASSWORD),
        "wrong": ("other-user", "Wrong-Password-xyz"),
        "paused, right password": ("center-user", PASSWORD),
    }.items():
        checks.clear()
        response = post_login(make_web(), login_id, password)
        page = LOGIN_ERROR.sub("", response.get_data(as_text=True))
        page = re.sub(r'value="[^"]*"|"X-CSRFToken": "[^"]*"', "", page)  # the CSRF token, the login id
        answers[case] = (response.status_code, login_error(response), len(checks), page)
    assert len(set(answers.values())) == 1, {k: v[:3] for k, v in answers.items()}


def test_the_owners_known_browser_signs_in_through_an_attack_and_lifts_the_pause(app, make_web, user):
    owner = make_web()
    assert owner.login(user, PASSWORD).status_code == 303  # this browser becomes known
    owner.logout()

    attacker = make_web()
    _fail(attacker, user, 12)
    assert db_user(app, user).locked_until > datetime.now(UTC)
    assert login_error(post_login(attacker, user, PASSWORD)) == GENERIC_FAILURE

    assert post_login(owner, user, PASSWORD).status_code == 303
    assert signed_in(owner.client)
    stored = db_user(app, user)
    assert stored.locked_until is None and stored.failed_login_count == 0
    assert any("登録済みの端末" in row.summary for row in audit_rows(app, "user.unlocked"))


def test_failures_from_a_known_browser_pause_only_that_browser(app, make_web, user):
    owner = make_web()
    owner.login(user, PASSWORD)
    owner.logout()
    _fail(owner, user, 5)
    assert login_error(post_login(owner, user, PASSWORD)) == GENERIC_FAILURE
    assert db_user(app, user).locked_until is None  # the account's unknown browsers are not paused
    assert post_login(make_web(), user, PASSWORD).status_code == 303


def test_a_forged_or_foreign_device_cookie_counts_as_an_unknown_browser(app, make_web, user):
    from agencyapp.views.auth import DEVICE_COOKIE

    with app.app_context():
        factories.make_user("other-user", "center")
        db.session.commit()
        db.session.remove()
    other = make_web()
    other.login("other-user", PASSWORD)  # known to another account only
    other.logout()
    _fail(make_web(), user, 5)
    assert login_error(post_login(other, user, PASSWORD)) == GENERIC_FAILURE

    forged = make_web()
    forged.client.set_cookie(DEVICE_COOKIE, "WyJub3QtYS10b2tlbiJd.forged", path="/login")
    assert login_error(post_login(forged, user, PASSWORD)) == GENERIC_FAILURE


def test_the_pause_grows_with_each_failure_up_to_the_limit(app, web, user, clock):
    _fail(web, user, 5)
    pauses = []
    for _ in range(6):
        stored = db_user(app, user)
        pauses.append(round((stored.locked_until - clock.now).total_seconds() / 60))
        clock.advance(minutes=pauses[-1], seconds=1)
        _fail(web, user, 1)
    assert pauses == [1, 2, 4, 8, 15, 15]


def test_the_right_password_works_from_a_new_browser_once_the_pause_is_over(web, user, clock):
    _fail(web, user, 5)
    clock.advance(seconds=50)
    assert login_error(post_login(web, user, PASSWORD)) == GENERIC_FAILURE
    clock.advance(seconds=11)
    response = post_login(web, user, PASSWORD)
    assert response.status_code == 303
    assert signed_in(web.client)


def test_the_owner_is_told_once_in_the_app_and_by_mail(app, web, user, smtp_config):
    with app.app_context():
        db.session.scalar(select(User).where(User.login_id == user)).email = "taro@example.jp"
        db.session.commit()
        db.session.remove()
    _fail(web, user, 7)
    with app.app_context():
        from agencyapp.models import Notification

        rows = db.session.scalars(select(Notification).where(Notification.kind == "login_attack")).all()
        assert len(rows) == 1 and "いつもお使いの端末" in rows[0].message
        db.session.remove()
    messages = smtp_config.handler.messages()
    assert len(messages) == 1 and messages[0]["To"] == "taro@example.jp"


def test_lockout_writes_login_failure_and_login_lockout_audit_events(app, web, user):
    _fail(web, user, 5)
    stored = db_user(app, user)
    failures = audit_rows(app, "login.failure")
    lockouts = audit_rows(app, "login.lockout")
    assert len(failures) == 4
    assert len(lockouts) == 1
    assert all(row.actor_id == stored.id for row in failures + lockouts)


def test_unknown_login_id_failures_are_audited(app, web):
    post_login(web, "ghost-user", "Wrong-Password-xyz")
    rows = audit_rows(app, "login.failure")
    assert len(rows) == 1 and rows[0].actor_login == "ghost-user" and rows[0].actor_id is None


def test_right_password_works_once_locked_until_is_in_the_past(app, web, user):
    _fail(web, user, 5)
    with app.app_context():
        stored = db.session.scalar(select(User).where(User.login_id == user))
        stored.locked_until = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
        db.session.remove()
    assert post_login(web, user, PASSWORD).status_code == 303


def test_a_successful_login_resets_the_failure_count(make_web, user):
    web = make_web()
    _fail(web, user, 4)
    assert post_login(web, user, PASSWORD).status_code == 303
    stranger = make_web()
    responses = _fail(stranger, user, 4)
    assert [login_error(r) for r in responses] == [GENERIC_FAILURE] * 4
    assert post_login(stranger, user, PASSWORD).status_code == 303


def test_an_administrator_lifts_every_pause_and_a_password_reset_forgets_known_browsers(app, make_web, user):
    owner = make_web()
    owner.login(user, PASSWORD)
    owner.logout()
    _fail(owner, user, 5)
    _fail(make_web(), user, 5)
    with app.app_context():
        from agencyapp.models import LoginDevice

        stored = db.session.scalar(select(User).where(User.login_id == user))
        auth_service.unlock(stored, actor=None)
        db.session.commit()
        assert post_login(owner, user, PASSWORD).status_code == 303
        admin = factories.make_user("admin-x", "admin")
        auth_service.set_password(stored, "すみだ川の桜並木を毎朝ゆっくり歩く", actor=admin)
        db.session.commit()
        assert db.session.scalars(select(LoginDevice).where(LoginDevice.user_id == stored.id)).all() == []
        db.session.remove()


def test_unlock_user_command_unlocks_a_locked_account(app, web, user, runner, ctx):
    _fail(web, user, 5)
    assert db_user(app, user).locked_until is not None

    result = runner.invoke(args=["unlock-user", user])
    assert result.exit_code == 0, result.output
    assert user in result.output
    stored = db_user(app, user)
    assert stored.locked_until is None and stored.failed_login_count == 0
    assert len(audit_rows(app, "user.unlocked")) == 1

    assert post_login(web, user, PASSWORD).status_code == 303


def test_unlock_user_command_fails_for_an_unknown_login_id(runner, ctx):
    result = runner.invoke(args=["unlock-user", "nobody-here"])
    assert result.exit_code == 1
    assert "nobody-here" in result.output


# --- signing out and dead cookies ---------------------------------------------------------


def test_logout_by_get_is_refused_with_405(web, user):
    web.login(user, PASSWORD)
    assert web.client.get("/logout").status_code == 405
    assert signed_in(web.client)


def test_logout_without_csrf_token_is_refused_and_the_session_survives(web, user):
    web.login(user, PASSWORD)
    response = web.post("/logout", csrf=False)
    assert response.status_code == 400
    assert signed_in(web.client)


def test_logout_redirects_to_login_and_ends_the_session(web, user):
    web.login(user, PASSWORD)
    response = web.logout()
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert not signed_in(web.client)


def test_a_copy_of_the_session_cookie_is_dead_after_logout(app, web, user):
    web.login(user, PASSWORD)
    captured = session_cookie(web.client)
    assert signed_in(client_with_cookie(app, captured)), "the copy works before logout"
    web.logout()
    stale = client_with_cookie(app, captured)
    response = stale.get("/")
    assert redirects_to_login(response)


def test_logout_is_audited_against_the_user(app, web, user):
    web.login(user, PASSWORD)
    web.logout()
    stored = db_user(app, user)
    rows = audit_rows(app, "logout")
    assert len(rows) == 1
    assert rows[0].actor_id == stored.id
    assert (rows[0].object_type, rows[0].object_id) == ("user", stored.id)


def test_password_change_kills_other_sessions_but_keeps_the_changing_one(app, make_web, user):
    changer, other = make_web(), make_web()
    changer.login(user, PASSWORD)
    other.login(user, PASSWORD)
    captured = session_cookie(changer.client)

    response = change_password(changer, PASSWORD, "すみだ川の桜並木を毎朝ゆっくり歩く")
    assert response.status_code == 303

    assert signed_in(changer.client)
    assert not signed_in(other.client)
    assert not signed_in(client_with_cookie(app, captured))


def test_password_change_is_audited_against_the_user(app, web, user):
    web.login(user, PASSWORD)
    change_password(web, PASSWORD, "すみだ川の桜並木を毎朝ゆっくり歩く")
    stored = db_user(app, user)
    rows = audit_rows(app, "user.password_changed")
    assert len(rows) == 1
    assert (rows[0].object_type, rows[0].object_id) == ("user", stored.id)


def test_a_copy_of_the_session_cookie_is_dead_after_deactivation(app, web, user):
    web.login(user, PASSWORD)
    captured = session_cookie(web.client)
    with app.app_context():
        db.session.scalar(select(User).where(User.login_id == user)).active = False
        db.session.commit()
        db.session.remove()
    assert not signed_in(client_with_cookie(app, captured))


def test_password_change_needs_the_current_password(app, web, user):
    web.login(user, PASSWORD)
    before = db_user(app, user).password_hash
    response = change_password(web, "not-the-current-one", "すみだ川の桜並木を毎朝ゆっくり歩く")
    assert response.status_code == 422
    assert "現在のパスワードが正しくありません" in response.get_data(as_text=True)
    assert db_user(app, user).password_hash == before


# --- password policy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "candidate",
    [
        "short-1A!",  # 9 characters
        "Abcdefgh12!",  # 11 characters
        "password1234",
        "123456789012",
        "qwertyuiopasdf",
        "x" * 257,  # above the maximum
    ],
)
def test_policy_refuses_short_common_and_overlong_passwords(candidate):
    assert passwords.policy_problems(candidate, 12), candidate


@pytest.mark.parametrize(
    "candidate",
    [
        "すみだ川の桜並木を毎朝ゆっくり歩く",
        "correct horse battery staple mountain",
        "Tr0ub4dor&3-wild-Ocelot-ferry",
        "霧の朝に古い駅で熱い珈琲を二杯飲んだ",
        "ein Löwe schläft unter der alten Brücke",
    ],
)
def test_policy_accepts_long_and_unicode_passphrases(candidate):
    assert passwords.policy_problems(candidate, 12) == []


def test_policy_refuses_a_password_containing_the_login_id():
    assert passwords.policy_problems("center-user-Lighthouse-42", 12, user_inputs=("center-user",))


@pytest.mark.parametrize(
    "candidate,expected",
    [
        ("Abcdefgh12!", "12文字以上"),
        ("password1234", "よく使われるパスワード"),
        ("123456789012", "よく使われるパスワード"),
        ("qwertyuiopasdf", "よく使われるパスワード"),
    ],
)
def test_password_form_refuses_weak_passwords_with_a_japanese_message(app, web, user, candidate, expected):
    web.login(user, PASSWORD)
    before = db_user(app, user).password_hash
    response = change_password(web, PASSWORD, candidate)
    assert response.status_code == 422
    assert expected in response.get_data(as_text=True)
    assert db_user(app, user).password_hash == before


def test_password_form_accepts_a_unicode_passphrase_that_then_signs_in(make_web, user):
    web = make_web()
    web.login(user, PASSWORD)
    assert change_password(web, PASSWORD, "すみだ川の桜並木を毎朝ゆっくり歩く").status_code == 303
    fresh = make_web()
    assert post_login(fresh, user, "すみだ川の桜並木を毎朝ゆっくり歩く").status_code == 303
    assert login_error(post_login(make_web(), user, PASSWORD)) == GENERIC_FAILURE


def _long_password(length):
    rng = random.Random(20261126 + length)
    return "".join(rng.choice(string.ascii_letters + string.digits + "-_!") for _ in range(length))


def test_a_100_character_password_is_not_truncated(app, make_web, user):
    long_password = _long_password(100)
    with app.app_context():
        db.session.scalar(select(User).where(User.login_id == user)).password_hash = passwords.hash_password(
            long_password
        )
        db.session.commit()
        db.session.remove()

    prefix = make_web()
    assert login_error(post_login(prefix, user, long_password[:99])) == GENERIC_FAILURE
    assert not signed_in(prefix.client)
    assert login_error(post_login(make_web(), user, long_password[:72])) == GENERIC_FAILURE
    assert post_login(make_web(), user, long_password).status_code == 303


@pytest.mark.parametrize("length", [73, 100, 256])
def test_policy_accepts_long_random_passwords_up_to_the_maximum(length):
    assert passwords.policy_problems(_long_password(length), 12) == []


def test_password_form_accepts_a_100_character_password_that_then_signs_in(make_web, user):
    long_password = _long_password(100)
    web = make_web()
    web.login(user, PASSWORD)
    assert change_password(web, PASSWORD, long_password).status_code == 303
    assert login_error(post_login(make_web(), user, long_password[:99])) == GENERIC_FAILURE
    assert post_login(make_web(), user, long_password).status_code == 303


def test_wrong_current_passwords_on_the_password_form_lock_the_account(app, make_web, user):
    web = make_web()
    web.login(user, PASSWORD)
    for _ in range(app.config["LOCKOUT_THRESHOLD"] - 1):
        response = change_password(web, "not-my-password-at-all", "すみだ川の桜並木を毎朝ゆっくり歩く")
        assert "現在のパスワードが正しくありません" in response.get_data(as_text=True)
    response = change_password(web, "not-my-password-at-all", "すみだ川の桜並木を毎朝ゆっくり歩く")
    assert response.status_code == 303 and "/login" in response.headers["Location"]
    assert "新しい端末からのログインを停止しました" in web.client.get("/login").get_data(as_text=True)
    assert login_error(post_login(make_web(), user, PASSWORD)) == GENERIC_FAILURE
    assert post_login(web, user, PASSWORD).status_code == 303  # the browser it was used from is known


def test_stored_password_hashes_are_argon2id(app, web, user):
    assert passwords.hash_password("anything at all 123").startswith("$argon2id$")
    web.login(user, PASSWORD)
    change_password(web, PASSWORD, "すみだ川の桜並木を毎朝ゆっくり歩く")
    assert db_user(app, user).password_hash.startswith("$argon2id$")


# --- session lifetime ---------------------------------------------------------------------


def test_idle_session_is_sent_to_login_with_a_message(app, web, user):
    web.login(user, PASSWORD)
    idle = app.config["IDLE_TIMEOUT"].total_seconds()
    with web.client.session_transaction() as session:
        session["seen"] = session["seen"] - idle - 60

    response = web.client.get("/")
    assert redirects_to_login(response)
    page = web.client.get(response.headers["Location"])
    assert page.status_code == 200
    assert IDLE_MESSAGE in page.get_data(as_text=True)
    assert not signed_in(web.client)


def test_idle_htmx_autosave_gets_401_and_the_page_stays(app, web, scene):
    web.login(scene.agency, PASSWORD)
    web.get(f"/submissions/{scene.submission_a}")
    idle = app.config["IDLE_TIMEOUT"].total_seconds()
    with web.client.session_transaction() as session:
        session["seen"] = session["seen"] - idle - 60
    response = web.post(
        f"/submissions/{scene.submission_a}/answers/{scene.question}",
        {f"answer-{scene.question}": "3", "lock_version": "1"},
        htmx=True,
    )
    assert response.status_code == 401 and "HX-Redirect" not in response.headers
    assert "<form" not in response.get_data(as_text=True)


def test_an_htmx_get_after_expiry_still_goes_to_the_login_page(app, web, scene):
    """Nothing is lost on a GET (a search, a page): htmx loads the login page, which returns here after."""
    web.login(scene.agency, PASSWORD)
    web.get(f"/submissions/{scene.submission_a}")
    with web.client.session_transaction() as session:
        session["seen"] = session["seen"] - app.config["IDLE_TIMEOUT"].total_seconds() - 60
    response = web.client.get("/improvements/?q=x", headers={"HX-Request": "true"})
    target = urlsplit(response.headers.get("HX-Redirect", ""))
    assert target.path == "/login" and "next=" in target.query


def test_an_autosave_with_no_cookie_at_all_is_a_session_message_not_a_400(app, client, scene):
    response = client.post(
        f"/submissions/{scene.submission_a}/answers/{scene.question}",
        data={f"answer-{scene.question}": "3", "lock_version": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 401 and "ログイン" in response.get_data(as_text=True)


def test_keepalive_renews_the_idle_clock(app, web, scene):
    web.login(scene.agency, PASSWORD)
    with web.client.session_transaction() as session:
        session["seen"] = session["seen"] - app.config["IDLE_TIMEOUT"].total_seconds() + 60  # a minute left
    assert web.client.get("/session/keepalive").status_code == 204
    with web.client.session_transaction() as session:
        session["seen"] = session["seen"] - 120  # two more minutes pass: still inside the timeout
    assert web.client.get("/").status_code == 200


def test_an_active_session_keeps_going_and_then_times_out_when_idle(web, user, clock):
    web.login(user, PASSWORD)
    for _ in range(6):  # two hours of work, a request every 20 minutes
        clock.advance(minutes=20)
        assert web.client.get("/").status_code == 200
    clock.advance(minutes=31)
    assert redirects_to_login(web.client.get("/"))


def test_a_session_ends_after_the_absolute_lifetime_even_when_active(app, web, user, clock):
    web.login(user, PASSWORD)
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    elapsed = timedelta(0)
    while elapsed < lifetime - timedelta(minutes=20):
        clock.advance(minutes=20)
        elapsed += timedelta(minutes=20)
        assert web.client.get("/").status_code == 200
    clock.advance(minutes=25)
    assert redirects_to_login(web.client.get("/"))


def test_the_idle_timeout_holds_for_the_cookie_of_the_login_response(web, user, clock):
    assert post_login(web, user, PASSWORD).status_code == 303  # no request after it
    clock.advance(minutes=31)
    assert redirects_to_login(web.client.get("/"))


def test_the_absolute_lifetime_counts_from_the_login_response_not_the_first_page(app, web, user, clock):
    assert post_login(web, user, PASSWORD).status_code == 303
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    clock.advance(minutes=29)  # the first page comes late
    elapsed = timedelta(minutes=29)
    assert web.client.get("/").status_code == 200
    while elapsed + timedelta(minutes=20) < lifetime:
        clock.advance(minutes=20)
        elapsed += timedelta(minutes=20)
        assert web.client.get("/").status_code == 200
    clock.advance(seconds=(lifetime - elapsed).total_seconds() + 60)
    assert redirects_to_login(web.client.get("/"))


def test_unauthenticated_get_is_sent_to_login_with_next_and_comes_back_after_login(web, user):
    response = web.client.get("/account/password")
    assert redirects_to_login(response)
    target = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    assert urlsplit(target).path == "/account/password"
    login = post_login(web, user, PASSWORD, next_=target)
    assert login.status_code == 303
    assert urlsplit(login.headers["Location"]).path == "/account/password"
