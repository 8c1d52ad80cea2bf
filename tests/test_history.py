"""The operation history reads in Japanese: events, objects with names and links, before/after as a table
with Japanese field names, state labels and Japan-time dates; and it exports as CSV."""

import csv
import io
import re

from sqlalchemy import func, select

from agencyapp.extensions import db
from agencyapp.models import AuditEvent
from agencyapp.services import review
from tests.factories import PASSWORD, act
from tests.test_review import submitted  # noqa: F401  (a fixture)


def test_events_objects_and_changes_are_shown_in_japanese(submitted, make_web):  # noqa: F811
    sub = submitted.submission_a
    act(review.return_submission, submitted.center, sub, "根拠を確認してください", sub.lock_version)
    web = make_web()
    web.login("center", PASSWORD)
    page = web.get("/audit/?area=submission").get_data(as_text=True)
    assert "自己点検：差戻し" in page and "submission.returned" not in page
    assert f'<a href="/submissions/{sub.id}">自己点検：厚生労働省 年金局</a>' in page
    assert '<th scope="row">状況</th><td class="pre">提出済</td><td class="pre">差戻し</td>' in page
    assert '<th scope="row">理由</th><td class="pre"></td><td class="pre">根拠を確認してください</td>' in page
    assert "{&#34;" not in page and '{"status"' not in page  # no raw JSON
    login_page = web.get("/audit/?area=login").get_data(as_text=True)
    assert "ログイン</td>" in login_page and "login.success" not in login_page


def test_the_filtered_history_exports_as_csv_and_the_export_is_recorded(submitted, make_web):  # noqa: F811
    web = make_web()
    web.login("center", PASSWORD)
    web.get("/audit/?area=submission")
    started = web.post("/audit/export.csv?area=submission")  # the task queue makes it (at once in the tests)
    assert started.status_code == 303
    page = web.get(started.headers["Location"]).get_data(as_text=True)
    response = web.get(re.search(r'href="(/exports/\d+/file)"', page).group(1))
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["日時", "操作者", "操作"]
    assert rows[1:] and all(r[2].startswith("自己点検") for r in rows[1:])
    assert any("状況：" in r[5] and "→提出済" in r[5] for r in rows[1:])
    exports = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "export"))
    assert exports == 1


def test_the_ministry_and_agencies_have_no_history_export(submitted, make_web):  # noqa: F811
    for login in ("ministry-a", "agency-a"):
        web = make_web()
        web.login(login, PASSWORD)
        assert web.post("/audit/export.csv").status_code == 403


def _ids(page):
    return [int(i) for i in re.findall(r'data-event="(\d+)"', page)]


def test_the_history_pages_by_keyset_newest_first_with_a_capped_count(submitted, make_web, app, monkeypatch):  # noqa: F811
    """Millions of events: 「次へ」 goes to older ones, 「前へ」 back, and the count stops at a cap."""
    from agencyapp.services.audit import record
    from agencyapp.views import audit as audit_view

    size = app.config["PAGE_SIZE"] * 2
    for n in range(size * 2 + 3):
        act(record, f"cycle.test{n}", actor=submitted.center, summary=f"ページ送りの確認{n:03d}")
    monkeypatch.setattr(audit_view, "COUNT_CAP", size * 2)
    web = make_web()
    web.login("center", PASSWORD)
    first = web.get("/audit/?q=ページ送りの確認").get_data(as_text=True)
    assert f"該当 {size * 2:,}件以上" in first and "前へ（新しい操作）" not in first
    newest = _ids(first)
    assert len(newest) == size and newest == sorted(newest, reverse=True)
    older = re.search(r'href="([^"]*before=(\d+)[^"]*)" rel="next"', first)
    assert int(older.group(2)) == newest[-1] and "q=" in older.group(1)
    second = web.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    middle = _ids(second)
    assert len(middle) == size and max(middle) < min(newest)
    back = re.search(r'href="([^"]*after=\d+[^"]*)" rel="prev"', second).group(1).replace("&amp;", "&")
    assert _ids(web.get(back).get_data(as_text=True)) == newest
    third = web.get(re.search(r'href="([^"]*before=\d+[^"]*)" rel="next"', second).group(1).replace("&amp;", "&"))
    last = _ids(third.get_data(as_text=True))
    assert len(last) == 3 and 'rel="next"' not in third.get_data(as_text=True)
    for nonsense in ("abc", "-5", "99999999999999999999999", "0"):
        response = web.get(f"/audit/?before={nonsense}&after={nonsense}")
        assert response.status_code == 200
