"""Input no form would send: never a 500, never a change; a Japanese message and the right status."""

import json
import re
import sqlite3
import threading

import pytest
from sqlalchemy import select

from agencyapp import create_app
from agencyapp.extensions import db
from agencyapp.inputs import MAX_ID
from agencyapp.models import Answer
from tests import factories
from tests.conftest import csrf_from
from tests.factories import PASSWORD

HUGE = [str(MAX_ID + 1), str(2**63), "99999999999999999999"]


def _int_routes(app):
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if type(conv).__name__ == "IdConverter"]
        if ints:
            yield rule, ints


def _with(rule, ints, value):
    path = rule.rule
    for name in ints:
        path = re.sub(rf"<int:{name}>", value, path)
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "x", path)


@pytest.mark.parametrize("value", HUGE + ["٣", "1_0"])
def test_an_id_out_of_range_is_404_on_every_route_signed_in_or_not(app, web, world, value):
    routes = list(_int_routes(app))
    assert len(routes) > 40  # every route with an id is checked
    anonymous = app.test_client()
    web.login(world.center.login_id, PASSWORD)
    for rule, ints in routes:
        url = _with(rule, ints, value)
        method = "GET" if "GET" in rule.methods else "POST"
        for client in (anonymous, web.client):
            response = client.open(url, method=method)
            assert response.status_code == 404, (url, method, response.status_code)


def test_the_largest_id_is_still_an_id(app, web, world):
    web.login(world.center.login_id, PASSWORD)
    assert web.get(f"/submissions/{MAX_ID}").status_code == 404
    assert web.get(f"/hearings/feed/{MAX_ID}/x.ics").status_code == 404


def test_huge_ids_in_query_strings_and_forms_count_as_missing(web, world):
    web.login(world.center.login_id, PASSWORD)
    for url in (f"/oversight/?ministry={HUGE[2]}", f"/review/?ministry={HUGE[1]}", f"/improvements/?page={HUGE[2]}"):
        assert web.get(url).status_code in (200, 303), url


def _answers(world):
    db.session.expire_all()
    return db.session.scalars(select(Answer).where(Answer.submission_id == world.submission_a.id)).all()


def _question(world):
    return next(q for q in factories.load_structure(world.cycle.version).questions if not q.conditions).number


def test_a_nul_byte_in_a_note_is_400_with_a_message_and_nothing_saved(web, world):
    number = _question(world)
    web.login(world.agency.login_id, PASSWORD)
    web.get(f"/submissions/{world.submission_a.id}")
    response = web.post(
        f"/submissions/{world.submission_a.id}/answers/{number}",
        {f"answer-{number}": "3", f"note-{number}": "備考\x00です", "lock_version": "1"},
        htmx=True,
    )
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert _answers(world) == []


def test_a_nul_byte_in_the_login_id_is_400_not_a_database_error(app, web, world):
    web.get("/login")
    response = web.post("/login", {"username": "agency-a\x00", "password": PASSWORD})
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    assert web.client.get("/?q=a%00b").status_code == 400


def test_invalid_utf8_is_400_with_a_message_not_a_stale_page(web, world):
    number = _question(world)
    web.login(world.agency.login_id, PASSWORD)
    web.get(f"/submissions/{world.submission_a.id}")
    response = web.client.post(
        f"/submissions/{world.submission_a.id}/answers/{number}",
        data=f"answer-{number}=3&note-{number}=".encode() + b"\xff\xfe&lock_version=1",
        content_type="application/x-www-form-urlencoded",
        headers={"HX-Request": "true", "X-CSRFToken": web.token},
    )
    assert response.status_code == 400 and "文字コード" in response.get_data(as_text=True)
    assert _answers(world) == []


def test_a_json_body_is_415_not_a_stale_page(web, world):
    number = _question(world)
    web.login(world.agency.login_id, PASSWORD)
    web.get(f"/submissions/{world.submission_a.id}")
    response = web.client.post(
        f"/submissions/{world.submission_a.id}/answers/{number}",
        data=json.dumps({f"answer-{number}": "3", "lock_version": 1}),
        content_type="application/json",
        headers={"HX-Request": "true", "X-CSRFToken": web.token},
    )
    assert response.status_code == 415 and "形式" in response.get_data(as_text=True)


def test_a_field_name_with_a_superscript_digit_is_named_not_a_500(web, world):
    web.login(world.agency.login_id, PASSWORD)
    web.get(f"/submissions/{world.submission_a.id}")
    response = web.post(f"/submissions/{world.submission_a.id}/answers", {"answer-²": "3", "lock_version": "1"})
    assert response.status_code == 303
    assert "設問番号 ² はこのチェックリストにありません" in web.get(response.headers["Location"]).get_data(as_text=True)
    assert _answers(world) == []


def test_too_many_urlencoded_fields_are_413(app, web, world):
    web.login(world.agency.login_id, PASSWORD)
    web.get(f"/submissions/{world.submission_a.id}")
    body = "&".join(f"f{i}=1" for i in range(150_000)) + f"&csrf_token={web.token}&lock_version=1"
    response = web.client.post(
        f"/submissions/{world.submission_a.id}/answers",
        data=body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413 and "項目が多すぎます" in response.get_data(as_text=True)


@pytest.fixture
def dead_database_app(app):
    """The app with its database gone (PostgreSQL refusing connections)."""
    other = create_app(
        {
            "ENV_NAME": "test",
            "TESTING": True,
            "SECRET_KEY": "another-test-secret",
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/nothing?connect_timeout=2",
            "SESSION_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    yield other
    with other.app_context():
        db.engine.dispose()


def test_without_the_database_pages_are_503_in_japanese_and_healthz_says_so(dead_database_app):
    client = dead_database_app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "unavailable"
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    response = client.post("/login", data={"username": "center", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert "ただいまシステムを利用できません" in text and "データベースに接続できない" in text
    assert response.headers["Retry-After"]


def test_a_sqlite_writer_held_past_the_busy_timeout_is_a_503_and_the_next_save_works(app, tmp_path):
    path = tmp_path / "busy.sqlite3"
    busy = create_app(
        {
            "ENV_NAME": "test",
            "TESTING": True,
            "SECRET_KEY": "busy-test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "SESSION_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
            "SQLITE_BUSY_SECONDS": 0.3,
        }
    )
    with busy.app_context():
        db.create_all()
        factories.make_user("center", "center")
        db.session.commit()
        db.session.remove()
    client = busy.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    release = threading.Timer(3, holder.rollback)
    release.start()
    try:
        response = client.post("/login", data={"username": "center", "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 503
        assert "混み合っている" in response.get_data(as_text=True)
    finally:
        release.cancel()
        holder.rollback()
        holder.close()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert (
        client.post("/login", data={"username": "center", "password": PASSWORD, "csrf_token": token}).status_code == 303
    )
    with busy.app_context():
        db.session.remove()
        db.engine.dispose()
