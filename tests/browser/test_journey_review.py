"""The review journey in a real browser: the agency submits a self-check with a few
low answers; the center finds it in the queue, drafts improvement points from the
suggestions, edits one (htmx), issues the 改善依頼 and looks at its print view; the
agency answers both points (one with a PDF, one with a completion report); the
center returns one and closes the other; the agency sees both verdicts. Four
browser contexts (two per account), one console watch: no CSP violation anywhere."""

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.test_journey_selfcheck import (
    SaveTracker,
    answer_everything_with_3,
    choose,
    read_progress,
    total_progress,
)

pytestmark = pytest.mark.browser

AGENCY_UNIT = "厚生労働省 年金局"
LOW_ANSWERS = [(1, 1), (87, 2)]  # 1 point → suggestion; 委託先の管理 (重要点検項目) below 3 → suggestion
EDITED_FINDING = "規程の整備状況を確認できませんでした。ブラウザ試験で編集した指摘事項です。"
PLAN_1 = "情報セキュリティ規程を改正し、職員研修で周知します。"
PLAN_2 = "委託契約書の再委託条項を見直します。"
REPORT_2 = "委託契約書を改定し、全委託先と締結し直しました。"
RETURN_COMMENT = "計画は確認しました。改正後の規程の写しを添えて完了報告をしてください。"


class Timer:
    def __init__(self):
        self.started = self.last = time.monotonic()
        self.steps = {}

    def lap(self, name):
        now = time.monotonic()
        self.steps[name] = now - self.last
        self.last = now

    def report(self):
        total = time.monotonic() - self.started
        return ", ".join(f"{k} {v:.1f}" for k, v in self.steps.items()) + f"; total {total:.1f}"


def log_in(page, login_id, password):
    page.goto("/login")
    page.get_by_label("ログインID").fill(login_id)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(re.compile(r"/$"))


def open_page(new_context, console, login_id, password):
    """A fresh browser context (its own cookies), watched by the same console log, signed in."""
    context = new_context()
    context.on("page", console.attach)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, login_id, password)
    return page


def status_badge(page):
    return page.locator("dl.facts").locator("div").filter(has_text="状況").locator(".badge").first


def flash(page, text):
    return page.get_by_role("status").filter(has_text=text)


def tokyo_today():
    return datetime.now(ZoneInfo("Asia/Tokyo")).date()


def test_center_reviews_issues_and_closes_improvement_points(
    page, new_context, console, demo_data, app, monkeypatch, tmp_path, assert_no_csp_violations
):
    # The live server runs this very app object: keep uploads out of the instance folder.
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tmp_path / "attachments"))
    timer = Timer()
    password = demo_data.password

    # 1. The agency answers everything (3, with two low answers on purpose) and submits.
    agency = page
    tracker = SaveTracker(agency)
    log_in(agency, "demo-agency", password)
    agency.locator("section.cycle-card").first.get_by_role("link", name="回答する").click()
    expect(agency).to_have_url(re.compile(rf"/submissions/{demo_data.submission_id}$"))
    agency.get_by_role("link", name=re.compile("すべての大分類を表示")).click()  # every question on one page
    agency.wait_for_function("() => window.htmx !== undefined")
    answer_everything_with_3(agency, tracker)
    for number, value in LOW_ANSWERS:
        assert choose(agency, number, value).status == 200
    answered, applicable = read_progress(agency)
    assert answered == applicable, (answered, applicable)
    expect(total_progress(agency)).to_have_text(f"{applicable} / {applicable}")
    assert all(status == 200 for status in tracker.statuses), tracker.statuses
    agency.get_by_role("link", name="提出の確認へ進む").click()
    expect(agency.get_by_role("heading", name="提出してよろしいですか")).to_be_visible()
    agency.get_by_role("button", name="提出する").click()
    expect(flash(agency, "提出しました")).to_be_visible()
    timer.lap("agency submits")

    # 2. The center's home is the review queue; the search narrows it without a reload.
    center = open_page(new_context, console, "demo-center", password)
    expect(center.get_by_role("heading", level=1)).to_have_text("審査キュー")
    center.wait_for_function("() => window.htmx !== undefined")
    center.evaluate("() => { window.__sameDocument = true; }")
    queue = center.locator("#review-queue")
    unit_link = queue.get_by_role("link", name=AGENCY_UNIT, exact=True)
    expect(unit_link).to_have_count(1)
    rows_before = queue.locator("tbody tr").count()
    with center.expect_response(lambda r: "q=" in r.url and r.request.headers.get("hx-request") == "true"):
        center.get_by_label("機関名・府省名で検索").press_sequentially("年金")
    expect(center).to_have_url(re.compile(r"[?&]q=%E5%B9%B4%E9%87%91"))  # hx-push-url
    rows = queue.locator("tbody tr")
    expect(rows.first).to_contain_text("年金")
    assert 0 < rows.count() < rows_before, (rows.count(), rows_before)
    for text in rows.all_inner_texts():
        assert "年金" in text, text
    assert center.evaluate("() => window.__sameDocument === true"), "the queue search reloaded the page"
    queue.get_by_role("link", name=AGENCY_UNIT, exact=True).click()
    expect(center).to_have_url(re.compile(rf"/review/submissions/{demo_data.submission_id}$"))
    expect(center.get_by_role("heading", level=1)).to_contain_text(AGENCY_UNIT)
    timer.lap("center finds the unit")

    # 3. Suggested drafts for the low answers; one is edited in place (htmx) and persists.
    points = center.locator("#points")
    center.get_by_role("button", name=re.compile("^改善点の案を作成")).click()
    expect(flash(center, "改善点の案を2件作成しました")).to_be_visible()
    drafts = points.locator("form.point-draft")
    expect(drafts).to_have_count(2)
    expect(drafts.locator(".point-draft__title")).to_have_text([re.compile("^設問1 "), re.compile("^設問87 ")])
    expect(drafts.nth(1)).to_contain_text("自動作成の案")
    expect(drafts.nth(1).get_by_label("指摘事項")).to_have_value(re.compile("今年度の重要点検項目"))
    center.wait_for_function("() => window.htmx !== undefined")
    center.evaluate("() => { window.__sameDocument = true; }")
    first_draft = drafts.first
    first_draft.get_by_label("指摘事項").fill(EDITED_FINDING)
    with center.expect_response(re.compile(r"/review/points/\d+/edit$")) as saved:
        first_draft.get_by_role("button", name="下書きを保存").click()
    assert saved.value.status == 200
    assert saved.value.request.headers.get("hx-request") == "true"
    center.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    assert center.evaluate("() => window.__sameDocument === true"), "saving a draft reloaded the page"
    expect(points.locator("form.point-draft").first.get_by_label("指摘事項")).to_have_value(EDITED_FINDING)
    center.reload()
    expect(center.locator("#points form.point-draft").first.get_by_label("指摘事項")).to_have_value(EDITED_FINDING)

    # 定型文 go to the end of 改善を求める事項 of the add form (not submitted: only the two drafts are issued).
    center.locator("#points details.add-point summary").click()
    add_action = center.locator("#new-action")
    add_action.fill("既存の文。")
    center.get_by_label("定型文を挿入").select_option(label="規程の整備")
    expect(add_action).to_have_value(re.compile(r"^既存の文。\n関係規程を整備"))
    expect(center.get_by_label("定型文を挿入")).to_have_value("")
    timer.lap("drafts")

    # 4. Issue both drafts with a due date 30 days ahead; the confirm dialog is accepted.
    issue = center.get_by_role("group", name="改善依頼を発行する")
    expect(issue.get_by_role("checkbox")).to_have_count(2)
    due_on = tokyo_today() + timedelta(days=30)
    issue.get_by_label("回答期限").fill(due_on.isoformat())
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    center.once("dialog", accept)
    issue.get_by_role("button", name="改善依頼を発行").click()
    expect(center).to_have_url(re.compile(r"/improvements/requests/\d+$"))
    assert dialogs and "改善依頼を発行します" in dialogs[0], dialogs
    expect(flash(center, "改善依頼を発行しました")).to_be_visible()
    sheet = center.locator("article.print-sheet")
    expect(sheet).to_contain_text(f"{AGENCY_UNIT} 御中")
    sheet_rows = sheet.locator("table tbody tr")
    expect(sheet_rows).to_have_count(2)
    expect(sheet_rows.nth(0)).to_contain_text("設問1")
    expect(sheet_rows.nth(0)).to_contain_text(EDITED_FINDING)
    expect(sheet_rows.nth(1)).to_contain_text("設問87")
    expect(sheet_rows.nth(0)).to_contain_text("依頼中")
    request_url = center.url

    # 5. The print view: header and navigation hidden, the sheet's title shown.
    title = center.locator("h1.print-sheet__title")
    center.emulate_media(media="print")
    expect(center.locator(".main-nav")).to_be_hidden()
    expect(center.locator(".site-header")).to_be_hidden()
    expect(center.get_by_role("button", name="印刷する")).to_be_hidden()
    expect(title).to_be_visible()
    expect(title).to_contain_text("改善依頼書")
    center.emulate_media(media="screen")
    expect(center.locator(".main-nav")).to_be_visible()
    timer.lap("issue and print view")

    # 6. The agency sees the notification, answers point 1 with a plan and a PDF, point 2 with a report.
    agency2 = open_page(new_context, console, "demo-agency", password)
    notifications = agency2.locator(".main-nav").get_by_role("link", name=re.compile("^通知"))
    badge = notifications.locator(".count-badge")
    expect(badge).to_have_text(re.compile(r"^\d+$"))
    assert int(badge.inner_text()) >= 1
    expect(badge).to_have_attribute("aria-label", re.compile(r"^未読 \d+件$"))
    agency2.locator(".main-nav").get_by_role("link", name="改善点").click()
    expect(agency2).to_have_url(re.compile(r"/improvements/$"))
    point_rows = agency2.locator("#point-list tbody tr")
    expect(point_rows).to_have_count(2)
    expect(point_rows.nth(0)).to_contain_text("設問1")
    expect(point_rows.nth(0)).to_contain_text("依頼中")
    expect(point_rows.nth(1)).to_contain_text("設問87")
    point_urls = [point_rows.nth(i).locator("a[href*='/improvements/points/']").get_attribute("href") for i in range(2)]

    point_rows.nth(0).locator("a[href*='/improvements/points/']").click()
    expect(agency2.get_by_role("heading", level=1)).to_have_text("改善点（設問1）")
    expect(status_badge(agency2)).to_have_text("依頼中")
    plan_due = (tokyo_today() + timedelta(days=60)).isoformat()
    agency2.get_by_label("改善計画（何をするか）").fill(PLAN_1)
    agency2.get_by_label("完了予定日").fill(plan_due)
    agency2.get_by_label("添付ファイル（任意）").set_input_files(
        {"name": "plan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}
    )
    agency2.get_by_role("button", name="回答を送信").click()
    expect(flash(agency2, "回答を送信しました")).to_be_visible()
    expect(status_badge(agency2)).to_have_text("回答済")
    history = agency2.locator("ol.history")
    expect(history).to_contain_text("機関が回答")
    expect(history).to_contain_text(PLAN_1)
    expect(history.get_by_text(re.compile("^添付：plan\\.pdf"))).to_be_visible()
    expect(history.get_by_role("link", name="plan.pdf")).to_have_count(1)
    expect(agency2.get_by_role("button", name="回答を送信")).to_have_count(0)
    stored = list((tmp_path / "attachments").iterdir())
    assert [f.read_bytes() for f in stored] == [b"%PDF-1.4\n%%EOF\n"], stored

    agency2.goto(point_urls[1])
    expect(agency2.get_by_role("heading", level=1)).to_have_text("改善点（設問87）")
    agency2.get_by_label("改善計画（何をするか）").fill(PLAN_2)
    agency2.get_by_label("完了予定日").fill(plan_due)
    agency2.get_by_label("完了報告（改善が済んだ場合に記入）").fill(REPORT_2)
    agency2.get_by_role("button", name="回答を送信").click()
    expect(flash(agency2, "回答を送信しました")).to_be_visible()
    expect(status_badge(agency2)).to_have_text("回答済")
    expect(agency2.locator("ol.history")).to_contain_text(f"完了報告：{REPORT_2}")
    timer.lap("agency answers")

    # 7. The center returns the plan-only answer and closes the one with a report.
    center2 = open_page(new_context, console, "demo-center", password)
    center2.locator(".main-nav").get_by_role("link", name="改善点").click()
    # The demo unit's two points (the demo also has another unit's point from last year, still open).
    center_rows = center2.locator("#point-list tbody tr").filter(has_text=AGENCY_UNIT)
    expect(center_rows).to_have_count(2)
    expect(center_rows.nth(0)).to_contain_text("回答済")
    center_rows.nth(0).locator("a[href*='/improvements/points/']").click()
    expect(center2.get_by_role("heading", level=1)).to_have_text("改善点（設問1）")
    expect(center2.locator("section").filter(has_text="機関の回答")).to_contain_text(PLAN_1)
    close_button = center2.get_by_role("button", name="完了にする")
    expect(close_button).to_be_disabled()
    expect(center2.locator("#no-report")).to_contain_text("完了報告がまだない")
    center2.get_by_label("コメント（差戻しでは必須）").fill(RETURN_COMMENT)
    center2.get_by_role("button", name="差し戻す").click()
    expect(flash(center2, "回答を差し戻しました")).to_be_visible()
    expect(status_badge(center2)).to_have_text("依頼中")
    expect(center2.locator("ol.history")).to_contain_text("センターが差戻し")
    expect(center2.locator("ol.history")).to_contain_text(RETURN_COMMENT)
    expect(center2.get_by_role("button", name="差し戻す")).to_have_count(0)

    center2.goto(point_urls[1])
    expect(center2.get_by_role("heading", level=1)).to_have_text("改善点（設問87）")
    expect(center2.locator("section").filter(has_text="機関の回答")).to_contain_text(REPORT_2)
    close_button = center2.get_by_role("button", name="完了にする")
    expect(close_button).to_be_enabled()
    close_button.click()
    expect(flash(center2, "改善点を完了にしました")).to_be_visible()
    expect(status_badge(center2)).to_have_text("完了")
    expect(center2.locator("ol.history")).to_contain_text("センターが完了")

    center2.goto(request_url)  # the request sheet follows the points' states
    statuses = center2.locator("article.print-sheet table tbody tr td:last-child")
    expect(statuses).to_have_text([re.compile("依頼中"), re.compile("完了")])
    timer.lap("center decides")

    # 8. The agency sees the returned point (with the center's comment, answerable again) and the closed one.
    agency2.goto(point_urls[0])
    expect(status_badge(agency2)).to_have_text("依頼中")
    expect(agency2.locator(".notice--warning")).to_have_text(f"センターからのコメント：{RETURN_COMMENT}")
    expect(agency2.locator("ol.history")).to_contain_text(RETURN_COMMENT)
    expect(agency2.get_by_label("改善計画（何をするか）")).to_have_value(PLAN_1)
    expect(agency2.get_by_role("button", name="回答を送信")).to_be_enabled()
    agency2.goto(point_urls[1])
    expect(status_badge(agency2)).to_have_text("完了")
    expect(agency2.get_by_role("button", name="回答を送信")).to_have_count(0)
    agency2.locator(".main-nav").get_by_role("link", name="改善点").click()
    expect(agency2.locator("#point-list tbody tr td .badge")).to_have_text(["依頼中", "完了"])
    timer.lap("agency sees verdicts")

    # 9. No CSP violation and no script error in any of the contexts.
    assert_no_csp_violations()
    print("\nreview journey timings (s): " + timer.report())
