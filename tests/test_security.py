"""Security properties of every route (ENGINEERING.md, security tests 5, 7-13, 16, 18 and the per-IP limit).

Database checks open their own short application context, so they read what the
requests committed and never share a session with them.

Apps other than the session `app` are made by `make_app` on the same database; it puts
back the shared Flask-Limiter object afterwards, because `Limiter.init_app` stores
`enabled` and the storage on the module-global extension object (creating a second app
would otherwise switch rate limiting on for the session app too).
"""

import re
import secrets
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select, update

from agencyapp import create_app, policy
from agencyapp.extensions import db, limiter
from agencyapp.models import Answer, AuditEvent, ChecklistQuestion, Submission, User
from agencyapp.models.user import MINISTRY
from agencyapp.services import selfcheck as selfcheck_service
from tests import factories
from tests.conftest import REDIS_TEST_URL, Browser
from tests.factories import PASSWORD

CANARY = "<script>alert(1)</script>"
ESCAPED_CANARY = "&lt;script&gt;alert(1)&lt;/script&gt;"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Not data writes: signing in and out, one's own password, one's own notifications read.
OWN_ACCOUNT_ENDPOINTS = {
    "auth.login",
    "auth.logout",
    "auth.password",
    "notifications.mark_read",
    "notifications.mark_all_read",
    "oversight.export_xlsx",  # asks the queue for an export of what the user reads: the job is theirs alone
}
CSRF_MESSAGE = "セキュリティ確認用のトークンが無効です"
TOKEN_RE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+|("X-CSRFToken": ")[^"]+')


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture
def scene(world):
    """Ids and names from conftest's `world`, plus an unconditional question."""
    structure = factories.load_structure(world.cycle.version)
    question = next(q for q in structure.questions if not q.conditions and 3 in q.allowed_values)
    return SimpleNamespace(
        agency=world.agency.login_id,
        agency_a2=world.agency_a2.login_id,
        agency_b=world.agency_b.login_id,
        center=world.center.login_id,
        ministry=world.ministry_user.login_id,
        admin=world.admin.login_id,
        agency_id=world.agency.id,
        center_id=world.center.id,
        unit_a=world.unit_a.id,
        unit_b=world.unit_b.id,
        unit_a2_name=world.unit_a2.name,
        unit_b_name=world.unit_b.name,
        ministry_b_name=world.ministry_b.name,
        submission_a=world.submission_a.id,
        submission_a2=world.submission_a2.id,
        submission_b=world.submission_b.id,
        question=question.number,
    )


@pytest.fixture
def make_app(app):
    """Make a separate app on the session database: make_app(production=True, **config)."""
    saved_limiter = dict(vars(limiter))
    made = []

    def make(production=False, **config):
        base = {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "separate-test-app-secret-key",
        }
        if production:
            base.update(ENV_NAME="production", REDIS_URL=REDIS_TEST_URL, RATELIMIT_KEY_PREFIX=secrets.token_hex(8))
        else:
            base.update(ENV_NAME="test", TESTING=True, SESSION_COOKIE_SECURE=False, RATELIMIT_ENABLED=False)
        base.update(config)
        other = create_app(base)
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    vars(limiter).clear()
    vars(limiter).update(saved_limiter)


def signed_in(make_web, login_id):
    web = make_web()
    response = web.login(login_id, PASSWORD)
    assert response.status_code == 303, f"{login_id} could not sign in"
    return web


def page_url(submission_id):
    return f"/submissions/{submission_id}"


def answer_url(submission_id, number):
    return f"/submissions/{submission_id}/answers/{number}"


def save_all_url(submission_id):
    return f"/submissions/{submission_id}/answers"


def submit_url(submission_id):
    return f"/submissions/{submission_id}/submit"


def lock_version(app, submission_id):
    with app.app_context():
        value = db.session.get(Submission, submission_id).lock_version
        db.session.remove()
    return value


def submission_row(app, submission_id):
    with app.app_context():
        row = db.session.get(Submission, submission_id)
        db.session.expunge_all()
        db.session.remove()
    return row


def answers_of(app, submission_id):
    """{question number: (value, note, updated_by_id)} of a submission."""
    with app.app_context():
        rows = db.session.execute(
            select(ChecklistQuestion.number, Answer.value, Answer.note, Answer.updated_by_id)
            .join(ChecklistQuestion, ChecklistQuestion.id == Answer.question_id)
            .where(Answer.submission_id == submission_id)
        ).all()
        db.session.remove()
    return {number: (value, note, by) for number, value, note, by in rows}


def user_row(app, login_id):
    with app.app_context():
        row = db.session.scalar(select(User).where(User.login_id == login_id))
        db.session.expunge_all()
        db.session.remove()
    return row


def audit_count(app, action):
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))
        db.session.remove()
    return count


def redirects_to_login(response):
    return response.status_code in (302, 303) and urlsplit(response.headers["Location"]).path == "/login"


def is_signed_in(client):
    return client.get("/").status_code == 200


def cli(app, *args):
    """Run an operator command of ``app`` (in its app context, as `flask --app wsgi` does)."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
    return result


def build_url(app, rule, scene):
    """A URL for ``rule`` with in-scope ids of agency A filled in."""
    values = {}
    for argument in rule.arguments:
        if argument == "submission_id":
            values[argument] = scene.submission_a
        elif argument == "number":
            values[argument] = scene.question
        elif argument == "filename":
            values[argument] = "css/app.css"
        else:
            values[argument] = 1
    return app.url_map.bind("localhost").build(rule.endpoint, values)


def write_rules(app):
    return [r for r in app.url_map.iter_rules() if WRITE_METHODS & set(r.methods)]


def without_tokens(html):
    return TOKEN_RE.sub(lambda m: (m.group(1) or m.group(2)) + "TOKEN", html)


# --- CSRF ---------------------------------------------------------------------------------


def test_login_without_csrf_token_is_refused_with_400(make_web, scene):
    web = make_web()
    web.get("/login")
    response = web.post("/login", {"username": scene.agency, "password": PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    assert not is_signed_in(web.client)


def test_logout_without_csrf_token_is_refused_with_400(make_web, scene):
    web = signed_in(make_web, scene.agency)
    assert web.post("/logout", csrf=False).status_code == 400
    assert is_signed_in(web.client)


def test_saving_an_answer_without_csrf_token_is_refused_and_saves_nothing(app, make_web, scene):
    web = signed_in(make_web, scene.agency)
    data = {f"answer-{scene.question}": "3", "lock_version": lock_version(app, scene.submission_a)}
    plain = web.post(answer_url(scene.submission_a, scene.question), data, csrf=False)
    htmx = web.post(answer_url(scene.submission_a, scene.question), data, csrf=False, htmx=True)
    assert (plain.status_code, htmx.status_code) == (400, 400)
    assert answers_of(app, scene.submission_a) == {}


def test_save_all_without_csrf_token_is_refused_and_saves_nothing(app, make_web, scene):
    web = signed_in(make_web, scene.agency)
    data = {f"answer-{scene.question}": "3", "lock_version": lock_version(app, scene.submission_a)}
    assert web.post(save_all_url(scene.submission_a), data, csrf=False).status_code == 400
    assert answers_of(app, scene.submission_a) == {}


def test_submit_without_csrf_token_is_refused_and_submits_nothing(app, make_web, scene):
    web = signed_in(make_web, scene.agency)
    data = {"lock_version": lock_version(app, scene.submission_a)}
    assert web.post(submit_url(scene.submission_a), data, csrf=False).status_code == 400
    row = submission_row(app, scene.submission_a)
    assert row.status == "not_started" and row.submitted_at is None


def test_password_change_without_csrf_token_is_refused(app, make_web, scene):
    web = signed_in(make_web, scene.agency)
    before = user_row(app, scene.agency).password_hash
    response = web.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "すみだ川の桜並木を毎朝ゆっくり歩く",
            "confirm_password": "すみだ川の桜並木を毎朝ゆっくり歩く",
        },
        csrf=False,
    )
    assert response.status_code == 400
    assert user_row(app, scene.agency).password_hash == before


def test_every_write_route_in_the_url_map_refuses_post_without_csrf_token(app, make_web, scene):
    web = signed_in(make_web, scene.agency)
    refused = {}
    for rule in write_rules(app):
        response = web.client.post(build_url(app, rule, scene), data={"lock_version": "1"})
        refused[rule.endpoint] = response.status_code
    assert refused and all(status == 400 for status in refused.values()), refused
    assert answers_of(app, scene.submission_a) == {}
    assert is_signed_in(web.client)


@pytest.mark.parametrize(
    "url",
    [
        "/logout",
        "/submissions/{a}/answers/{q}",
        "/submissions/{a}/answers",
    ],
)
def test_state_changing_routes_refuse_get_with_405(make_web, scene, url):
    web = signed_in(make_web, scene.agency)
    response = web.client.get(url.format(a=scene.submission_a, q=scene.question))
    assert response.status_code == 405


def test_htmx_save_with_the_csrf_header_is_accepted(app, make_web, scene):
    web = signed_in(make_web, scene.agency)
    web.get(page_url(scene.submission_a))
    response = web.post(
        answer_url(scene.submission_a, scene.question),
        {f"answer-{scene.question}": "3", "lock_version": lock_version(app, scene.submission_a)},
        htmx=True,
    )
    assert response.status_code == 200
    assert "保存しました" in response.get_data(as_text=True)
    assert answers_of(app, scene.submission_a)[scene.question][0] == 3


def test_htmx_save_with_a_wrong_csrf_header_is_refused(app, make_web, scene):
    web = signed_in(make_web, scene.agency)
    response = web.client.post(
        answer_url(scene.submission_a, scene.question),
        data={f"answer-{scene.question}": "3", "lock_version": lock_version(app, scene.submission_a)},
        headers={"HX-Request": "true", "X-CSRFToken": "forged-token"},
    )
    assert response.status_code == 400
    assert answers_of(app, scene.submission_a) == {}


# --- unauthenticated requests -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/submissions/{a}", "/submissions/{a}/submit", "/account/password"])
def test_unauthenticated_get_of_a_protected_page_redirects_to_login_with_next(client, scene, path):
    path = path.format(a=scene.submission_a)
    response = client.get(path)
    assert redirects_to_login(response)
    next_ = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    assert urlsplit(next_).path == path


def test_unauthenticated_htmx_get_gets_hx_redirect_not_a_login_form(client, scene):
    response = client.get("/?q=x", headers={"HX-Request": "true", "HX-Target": "submission-list"})
    assert urlsplit(response.headers.get("HX-Redirect", "")).path == "/login"
    assert response.status_code not in (301, 302, 303, 307, 308)
    body = response.get_data(as_text=True)
    assert "<form" not in body and "password" not in body


def test_unauthenticated_htmx_post_gets_401_stays_on_the_page_and_saves_nothing(app, web, scene):
    """An autosave without a session must not send the page away (the answer would be lost): 401, no redirect."""
    web.get("/login")  # a CSRF token, but no sign-in
    response = web.post(
        answer_url(scene.submission_a, scene.question),
        {f"answer-{scene.question}": "3", "lock_version": "1"},
        htmx=True,
    )
    assert response.status_code == 401 and "HX-Redirect" not in response.headers
    assert "<form" not in response.get_data(as_text=True)
    assert answers_of(app, scene.submission_a) == {}


# --- response headers ---------------------------------------------------------------------


def _page(web, scene):
    return web.get(page_url(scene.submission_a))


def _home(web, scene):
    return web.get("/")


def _login_page(web, scene):
    return web.client.get("/login")


def _not_found(web, scene):
    return web.client.get("/no-such-page")


def _not_found_fragment(web, scene):
    return web.client.get("/no-such-page", headers={"HX-Request": "true"})


def _fragment(web, scene):
    web.get(page_url(scene.submission_a))
    return web.post(
        answer_url(scene.submission_a, scene.question),
        {f"answer-{scene.question}": "2", "lock_version": "1"},
        htmx=True,
    )


def _list_fragment(web, scene):
    return web.client.get("/?q=年金", headers={"HX-Request": "true", "HX-Target": "submission-list"})


def _healthz(web, scene):
    return web.client.get("/healthz")


def _static(web, scene):
    return web.client.get("/static/css/app.css")


def _method_not_allowed(web, scene):
    return web.client.get("/logout")


def _csrf_error(web, scene):
    return web.post("/logout", csrf=False)


def _forbidden(web, scene):
    return web.post(save_all_url(scene.submission_a), {"lock_version": "1"})


RESPONSES = {
    # kind: (who signs in, how the response is made, expected status)
    "page": ("agency", _page, 200),
    "home": ("center", _home, 200),
    "login page": (None, _login_page, 200),
    "404 page": ("agency", _not_found, 404),
    "404 fragment": ("agency", _not_found_fragment, 404),
    "htmx fragment": ("agency", _fragment, 200),
    "list fragment": ("center", _list_fragment, 200),
    "healthz": (None, _healthz, 200),
    "static file": (None, _static, 200),
    "405 page": ("agency", _method_not_allowed, 405),
    "400 csrf page": ("agency", _csrf_error, 400),
    "403 page": ("center", _forbidden, 403),
}
PRIVATE = {"page", "home", "htmx fragment", "list fragment", "404 page", "403 page"}


def assert_security_headers(response):
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    assert "'self'" in directives.get("script-src", []), csp
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(directives.get("script-src", [])), csp
    assert "'unsafe-inline'" not in csp, csp
    assert directives.get("frame-ancestors") == ["'none'"], csp
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("kind", list(RESPONSES))
def test_every_kind_of_response_carries_the_security_headers(make_web, scene, kind):
    who, make, status = RESPONSES[kind]
    web = signed_in(make_web, getattr(scene, who)) if who else make_web()
    response = make(web, scene)
    assert response.status_code == status, kind
    assert_security_headers(response)
    if kind in PRIVATE:
        assert "no-store" in response.headers.get("Cache-Control", ""), kind


# --- production configuration -------------------------------------------------------------


def test_production_session_cookie_is_secure_httponly_and_samesite_lax(make_app, scene):
    prod = make_app(production=True)
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    web = Browser(prod.test_client())
    for response in (
        web.get("/login", base_url="https://localhost"),
        web.post(
            "/login",
            {"username": scene.center, "password": PASSWORD},
            base_url="https://localhost",
            headers={"Referer": "https://localhost/login"},
        ),
    ):  # CSRF checks it on https
        cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("agencyapp_session=")]
        assert cookies, response.status_code
        attributes = {part.strip().lower() for part in cookies[0].split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax"} <= attributes, cookies[0]
        assert response.headers.get("Strict-Transport-Security", "").startswith("max-age=")
    assert response.status_code == 303


def test_production_app_without_secret_key_refuses_to_start(app):
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    with pytest.raises(RuntimeError):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": uri})
    with pytest.raises(RuntimeError):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": ""})


def test_production_app_runs_with_debug_off(make_app):
    prod = make_app(production=True)
    assert prod.debug is False
    assert prod.config["DEBUG"] is False and not prod.testing


def test_seed_demo_refuses_outside_development_and_creates_no_demo_account(app, make_app):
    prod = make_app(production=True)
    result = cli(prod, "seed-demo")
    assert result.exit_code != 0
    assert "開発環境" in result.output, result.output
    assert user_row(app, "demo-agency") is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        db.session.remove()


def test_seed_demo_creates_the_demo_accounts_in_development(app, make_app):
    dev = make_app(ENV_NAME="development", TESTING=False)
    result = cli(dev, "seed-demo")
    assert result.exit_code == 0, result.output
    assert user_row(app, "demo-agency") is not None


# --- server errors ------------------------------------------------------------------------


LEAKS = ("Traceback", "SECRET-DETAIL-8d1f", "RuntimeError", 'File "', "site-packages", "agencyapp/")


def test_server_error_page_shows_no_traceback(make_app, monkeypatch):
    prod = make_app(production=True)

    @prod.get("/boom-for-test")
    def boom_for_test():
        raise RuntimeError("SECRET-DETAIL-8d1f in /work/main/agencyapp/views")

    monkeypatch.setitem(policy.ENDPOINTS, "boom_for_test", policy.PUBLIC)
    client = prod.test_client()
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get("/boom-for-test", headers=headers, base_url="https://localhost")
        assert response.status_code == 500
        body = response.get_data(as_text=True)
        assert "システムエラーが発生しました" in body
        for leak in LEAKS:
            assert leak not in body, leak
        assert_security_headers(response)


def test_a_failing_service_behind_a_signed_in_page_shows_no_traceback(app, make_web, scene, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("SECRET-DETAIL-8d1f in /work/main/agencyapp/services")

    web = signed_in(make_web, scene.agency)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr(selfcheck_service, "load_state", broken)
    response = web.client.get(page_url(scene.submission_a))
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "システムエラーが発生しました" in body
    for leak in LEAKS:
        assert leak not in body, leak
    assert_security_headers(response)


# --- per-IP login rate limit --------------------------------------------------------------


def test_login_rate_limit_per_ip_answers_429(make_app):
    limited = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    web = Browser(limited.test_client())
    web.get("/login")
    statuses = [
        web.post("/login", {"username": "nobody", "password": "Wrong-Password-123"}).status_code for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]
    response = web.post("/login", {"username": "nobody", "password": "Wrong-Password-123"})
    assert response.status_code == 429
    assert "しばらく待ってから" in response.get_data(as_text=True)
    assert_security_headers(response)
    assert web.get("/login").status_code == 200, "only POST is limited"

    elsewhere = Browser(limited.test_client())
    elsewhere.get("/login", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    other_ip = elsewhere.post(
        "/login", {"username": "nobody", "password": "Wrong-Password-123"}, environ_base={"REMOTE_ADDR": "192.0.2.10"}
    )
    assert other_ip.status_code == 422


# --- roles and scope ----------------------------------------------------------------------


def test_every_route_declares_an_access_rule(app):
    missing = sorted({rule.endpoint for rule in app.url_map.iter_rules()} - set(policy.ENDPOINTS))
    assert not missing, f"routes without an entry in policy.ENDPOINTS: {missing}"


def test_the_ministry_role_may_reach_no_write_route(app):
    reachable = []
    for rule in write_rules(app):
        declared = policy.ENDPOINTS.get(rule.endpoint, ())
        if rule.endpoint not in OWN_ACCOUNT_ENDPOINTS and (declared == policy.PUBLIC or MINISTRY in declared):
            reachable.append(rule.endpoint)
    assert not reachable


def test_a_ministry_user_posting_to_every_write_route_gets_403(app, make_web, scene):
    web = signed_in(make_web, scene.ministry)
    web.get(page_url(scene.submission_a))
    statuses = {}
    for rule in write_rules(app):
        if rule.endpoint in OWN_ACCOUNT_ENDPOINTS:
            continue
        data = {f"answer-{scene.question}": "3", "lock_version": lock_version(app, scene.submission_a)}
        statuses[rule.endpoint] = web.post(build_url(app, rule, scene), data).status_code
    assert statuses and set(statuses.values()) == {403}, statuses
    assert answers_of(app, scene.submission_a) == {}
    assert audit_count(app, "access.denied") == len(statuses)


@pytest.mark.parametrize("role", ["ministry", "center", "admin"])
def test_roles_other_than_agency_cannot_answer_or_submit_an_in_scope_submission(app, make_web, scene, role):
    web = signed_in(make_web, getattr(scene, role))
    assert web.get(page_url(scene.submission_a)).status_code == 200, "the submission is in scope"
    version = lock_version(app, scene.submission_a)
    answer = {f"answer-{scene.question}": "3", f"note-{scene.question}": "x", "lock_version": version}
    statuses = {
        "save answer": web.post(answer_url(scene.submission_a, scene.question), answer).status_code,
        "save answer (htmx)": web.post(answer_url(scene.submission_a, scene.question), answer, htmx=True).status_code,
        "save all": web.post(save_all_url(scene.submission_a), answer).status_code,
        "confirm submit": web.client.get(submit_url(scene.submission_a)).status_code,
        "submit": web.post(submit_url(scene.submission_a), {"lock_version": version}).status_code,
    }
    assert set(statuses.values()) == {403}, statuses
    assert answers_of(app, scene.submission_a) == {}
    assert submission_row(app, scene.submission_a).status == "not_started"


def test_an_agency_user_gets_404_for_another_units_submission_and_sees_none_of_its_data(app, make_web, scene):
    web = signed_in(make_web, scene.agency)
    for other, name in ((scene.submission_b, scene.unit_b_name), (scene.submission_a2, scene.unit_a2_name)):
        for response in (web.get(page_url(other)), web.client.get(submit_url(other))):
            assert response.status_code == 404
            body = response.get_data(as_text=True)
            assert name not in body
        assert scene.ministry_b_name not in web.get(page_url(scene.submission_b)).get_data(as_text=True)


def test_another_units_submission_and_a_missing_one_answer_identically(make_web, scene):
    web = signed_in(make_web, scene.agency)
    foreign = web.client.get(page_url(scene.submission_b))
    missing = web.client.get(page_url(999999))
    assert foreign.status_code == missing.status_code == 404
    assert without_tokens(foreign.get_data(as_text=True)) == without_tokens(missing.get_data(as_text=True))


def test_an_agency_user_cannot_write_to_another_units_submission(app, make_web, scene):
    web = signed_in(make_web, scene.agency)
    web.get(page_url(scene.submission_a))
    version = lock_version(app, scene.submission_b)
    answer = {f"answer-{scene.question}": "3", f"note-{scene.question}": "x", "lock_version": version}
    statuses = [
        web.post(answer_url(scene.submission_b, scene.question), answer).status_code,
        web.post(answer_url(scene.submission_b, scene.question), answer, htmx=True).status_code,
        web.post(save_all_url(scene.submission_b), answer).status_code,
        web.post(submit_url(scene.submission_b), {"lock_version": version}).status_code,
    ]
    assert statuses == [404] * 4
    assert answers_of(app, scene.submission_b) == {}
    assert submission_row(app, scene.submission_b).status == "not_started"


def test_a_ministry_user_sees_its_own_ministrys_units_only(make_web, scene):
    web = signed_in(make_web, scene.ministry)
    assert web.get(page_url(scene.submission_a)).status_code == 200
    assert web.get(page_url(scene.submission_a2)).status_code == 200
    response = web.get(page_url(scene.submission_b))
    assert response.status_code == 404
    assert scene.unit_b_name not in response.get_data(as_text=True)


# --- mass assignment ----------------------------------------------------------------------


def test_extra_form_fields_unit_id_and_role_are_ignored(app, make_web, scene):
    web = make_web()
    web.get("/login")
    web.post("/login", {"username": scene.agency, "password": PASSWORD, "role": "admin", "unit_id": scene.unit_b})
    web.get(page_url(scene.submission_a))
    extras = {
        "unit_id": scene.unit_b,
        "role": "admin",
        "submission_id": scene.submission_b,
        "status": "accepted",
        "updated_by_id": scene.center_id,
        "cycle_id": "999",
        "lock_version": lock_version(app, scene.submission_a),
    }
    saved_all = web.post(save_all_url(scene.submission_a), {**extras, f"answer-{scene.question}": "3"})
    assert saved_all.status_code == 303
    extras["lock_version"] = lock_version(app, scene.submission_a)
    saved_one = web.post(
        answer_url(scene.submission_a, scene.question), {**extras, f"answer-{scene.question}": "2"}, htmx=True
    )
    assert saved_one.status_code == 200

    submission = submission_row(app, scene.submission_a)
    assert submission.unit_id == scene.unit_a
    assert submission.status == "draft"
    assert answers_of(app, scene.submission_a) == {scene.question: (2, "", scene.agency_id)}
    assert answers_of(app, scene.submission_b) == {}
    assert submission_row(app, scene.submission_b).status == "not_started"
    agency = user_row(app, scene.agency)
    assert (agency.role, agency.unit_id) == ("agency", scene.unit_a)


# --- XSS ----------------------------------------------------------------------------------


def test_a_script_in_a_note_saved_without_javascript_is_rendered_escaped(app, make_web, scene):
    web = signed_in(make_web, scene.agency)
    web.get(page_url(scene.submission_a))
    response = web.post(
        save_all_url(scene.submission_a),
        {
            f"answer-{scene.question}": "3",
            f"note-{scene.question}": CANARY,
            "lock_version": lock_version(app, scene.submission_a),
        },
    )
    assert response.status_code == 303
    assert answers_of(app, scene.submission_a)[scene.question][1] == CANARY

    for viewer in (web, signed_in(make_web, scene.center), signed_in(make_web, scene.ministry)):
        page = viewer.get(page_url(scene.submission_a))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert ESCAPED_CANARY in html
        assert CANARY not in html


def test_a_hostile_login_id_is_echoed_escaped(web):
    web.get("/login")
    response = web.post("/login", {"username": '"><script>alert(1)</script>', "password": "Wrong-Password-1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert CANARY not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, "the login id is echoed back, escaped"


def test_a_hostile_search_term_is_echoed_escaped(make_web, scene):
    web = signed_in(make_web, scene.center)
    for headers in ({}, {"HX-Request": "true", "HX-Target": "submission-list"}):
        response = web.client.get("/", query_string={"q": CANARY}, headers=headers)
        assert response.status_code == 200
        assert CANARY not in response.get_data(as_text=True)


def test_the_operation_history_is_searchable_for_the_center_and_closed_to_others(make_web, world):
    center = make_web()
    center.login("center", factories.PASSWORD)
    page = center.get("/audit/?area=login").get_data(as_text=True)
    assert "<td>ログイン</td>" in page and "center" in page  # the event in Japanese, not its code
    assert "該当 0件" in center.get("/audit/?actor=nobody-at-all").get_data(as_text=True)
    assert center.get("/audit/?from=2000-01-01&to=2000-01-02").status_code == 200
    for login_id in ("agency-a", "ministry-a"):
        other = make_web()
        other.login(login_id, factories.PASSWORD)
        assert other.get("/audit/").status_code == 403


def test_checklist_texts_and_answer_names_are_escaped_on_the_self_check_page(app, make_web, scene):
    """The question fragment writes numbers as they are and escapes every text explicitly."""
    version_id = db.session.get(Submission, scene.submission_a).cycle.version_id
    question = db.session.scalar(
        select(ChecklistQuestion).where(
            ChecklistQuestion.version_id == version_id,
            ChecklistQuestion.number == scene.question,
        )
    )
    # A published version refuses every change through the app: the text is written behind its back.
    db.session.execute(
        update(ChecklistQuestion)
        .where(ChecklistQuestion.id == question.id)
        .values(text=f"設問文{CANARY}", answer_labels={"3": f"実施{CANARY}"})
    )
    db.session.commit()
    from agencyapp.services.checklists import clear_structure_cache

    clear_structure_cache()  # a published version never changes in the app; this test changed it behind its back
    for viewer in (signed_in(make_web, scene.agency), signed_in(make_web, scene.center)):
        html = viewer.get(page_url(scene.submission_a)).get_data(as_text=True)
        assert f"設問文{ESCAPED_CANARY}" in html and CANARY not in html
    editable = signed_in(make_web, scene.agency).get(page_url(scene.submission_a)).get_data(as_text=True)
    assert f"実施{ESCAPED_CANARY}" in editable
