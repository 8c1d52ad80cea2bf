"""Issue 9: the seven defects a new user met, each walked in a real browser as that user sees it.

1. A date of a moment shortly after midnight in Japan is the same day in 和暦 and 西暦.
2. A refused form on the review page says why beside that form, keeps what was typed and focuses the control.
3. A controlling question says what its answers switch off; its dependents say what they wait for.
4. Notes save on paste (no key-up, no blur), count their characters, are never cut short, and leaving with an
   unsaved note asks first.
5. Accepting a self-check asks first; reopening it is recorded with its reason and who did it.
6. The session warns two minutes before it ends and can be extended; an autosave after it ended keeps the answer
   and offers a way to sign in again, which leads back to the page.
7. Without JavaScript, a stale save shows the page again with what was sent and marks the answers changed meanwhile.

Setup that is not the subject (a submitted self-check, an issued request) goes through the services."""

import contextlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from tests.browser.test_journey_oversight import users_by_login
from tests.browser.test_journey_review import flash, log_in, status_badge
from tests.browser.test_journey_selfcheck import SaveTracker, choose, question, radio, save_state
from tests.factories import act
from tests.test_review import submit_answers

pytestmark = pytest.mark.browser

CENTER_NAME = "情報 太郎"  # demo-center's display name
ASSESSED = 120  # a question late on the review page (answered 3 by submit_answers), so focusing it must scroll
NOTE_MAX = 2000


# --- setup through the services ----------------------------------------------------------------


def submit_demo(app, submission_id, suggest=False):
    """demo-agency submits its self-check (all 3, 設問1 = 1, 設問87 = 2); optionally the center drafts points."""
    from agencyapp.models import Submission
    from agencyapp.services import improvements

    with app.app_context():
        users = users_by_login("demo-agency", "demo-center")
        submission = submit_answers(users["demo-agency"], db.session.get(Submission, submission_id))
        assert submission.status == "submitted", submission.status
        if suggest:
            assert act(improvements.suggest_points, users["demo-center"], submission) == 2
        db.session.remove()


def issue_request_at(app, submission_id, issued_at):
    """The center issues the suggested points as one request; its issue time is then set to ``issued_at``."""
    from agencyapp.models import ImprovementPoint, ImprovementRequest, Submission
    from agencyapp.services import improvements

    submit_demo(app, submission_id, suggest=True)
    with app.app_context():
        center = users_by_login("demo-center")["demo-center"]
        submission = db.session.get(Submission, submission_id)
        drafts = db.session.scalars(
            select(ImprovementPoint.id).where(
                ImprovementPoint.submission_id == submission_id, ImprovementPoint.status == "draft"
            )
        ).all()
        request_id = act(improvements.issue_request, center, submission, drafts, today_tokyo() + timedelta(days=30)).id
        db.session.get(ImprovementRequest, request_id).issued_at = issued_at
        db.session.commit()
        db.session.remove()
    return request_id


def save_as_agency(app, submission_id, number, value):
    """demo-agency saves one answer from elsewhere (another tab, a colleague): the open page becomes stale."""
    from agencyapp.models import Submission
    from agencyapp.services import selfcheck

    with app.app_context():
        agency = users_by_login("demo-agency")["demo-agency"]
        submission = db.session.get(Submission, submission_id)
        act(selfcheck.save_answer, agency, submission, number, str(value), "", submission.lock_version)
        db.session.remove()


# --- browser helpers -----------------------------------------------------------------------------


def open_selfcheck(page, demo, category=None):
    """The self-check page: where work remains, or the page of one 大分類."""
    log_in(page, demo.agency_login, demo.password)
    page.goto(f"/submissions/{demo.submission_id}" + (f"?cat={category}" if category else ""))
    page.wait_for_function("() => window.htmx !== undefined")


def answer_posts(page):
    """The URLs of every autosave POST the page sends (whether or not it is answered)."""
    sent = []
    page.on(
        "request",
        lambda r: sent.append(r.url) if r.method == "POST" and re.search(r"/answers/\d+$", r.url) else None,
    )
    return sent


def active_id(page):
    return page.evaluate("() => document.activeElement && document.activeElement.id")


# --- 1. dates ------------------------------------------------------------------------------------


def test_1_a_request_issued_at_1_30_jst_shows_that_day_in_both_calendars(
    page, demo_data, app, assert_no_csp_violations
):
    # 2026-12-01 16:30 UTC is 2026-12-02 01:30 in Japan: the 西暦 part used to say 12月1日.
    request_id = issue_request_at(app, demo_data.submission_id, datetime(2026, 12, 1, 16, 30, tzinfo=UTC))
    log_in(page, demo_data.agency_login, demo_data.password)
    page.goto(f"/improvements/requests/{request_id}")
    expect(page.locator("article.print-sheet")).to_contain_text("改善依頼書")
    expect(page.locator(".print-sheet__date")).to_have_text("令和8年12月2日（2026年12月2日）")
    assert "12月1日" not in page.locator(".print-sheet__date").inner_text()


# --- 2. errors beside their control ----------------------------------------------------------------


def test_2_a_refused_form_on_the_review_page_says_why_beside_it(page, demo_data, app, assert_no_csp_violations):
    submit_demo(app, demo_data.submission_id, suggest=True)  # drafts exist, so 改善点を追加 starts closed
    log_in(page, "demo-center", demo_data.password)
    url = f"/review/submissions/{demo_data.submission_id}"
    page.goto(url)
    n = ASSESSED

    # A センター確認点 other than the agency's answer, without a reason. The form is loaded into its row
    # on demand (the page does not draw 127 of them), with the focus on its first control.
    row = page.locator(f"#review-q-{n}")
    expect(row.locator("form.assess-form")).to_have_count(0)
    row.get_by_role("link", name=re.compile("確認点を付ける")).click()
    form = row.locator("form.assess-form")
    expect(form.locator(f"#assess-{n}")).to_be_focused()
    form.locator(f"#assess-{n}").select_option("2")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/assessments/{n}")) as sent:
        form.get_by_role("button", name="保存").click()
    assert sent.value.status == 422
    page.wait_for_load_state()
    form = page.locator(f"#review-q-{n} form.assess-form")
    message = form.locator(f"#assess-{n}-error")
    expect(message).to_be_visible()
    expect(message).to_have_attribute("role", "alert")
    expect(message).to_contain_text("理由を入力してください")
    expect(page.locator("[id$='-error'][role=alert]")).to_have_count(1)  # only there, not at the top
    expect(form.locator(f"#assess-{n}")).to_have_value("2")
    reason = form.locator(f"#assess-reason-{n}")
    expect(reason).to_be_focused()
    assert active_id(page) == f"assess-reason-{n}"
    expect(reason).to_be_in_viewport()
    expect(reason).to_have_attribute("aria-invalid", "true")

    # 改善点を追加 with a question number the checklist does not have (htmx swaps the region).
    page.goto(url)
    details = page.locator("#points details.add-point")
    expect(details).not_to_have_attribute("open", re.compile(".*"))
    details.locator("summary").click()
    page.wait_for_function("() => window.htmx !== undefined")
    finding = "ブラウザ試験：存在しない設問への指摘です。"
    page.locator("#new-question").fill("999")
    page.locator("#new-finding").fill(finding)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/points")) as sent:
        details.get_by_role("button", name="下書きとして追加").click()
    assert sent.value.status == 422
    details = page.locator("#points details.add-point")
    error = details.locator("#add-point-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("設問番号 999")
    expect(details).to_have_attribute("open", re.compile(".*"))
    expect(page.locator("#new-question")).to_have_value("999")
    expect(page.locator("#new-finding")).to_have_value(finding)
    expect(page).to_have_url(re.compile(rf"{re.escape(url)}$"))


# --- 3. controlling questions ----------------------------------------------------------------------


def test_3_a_controlling_question_says_what_it_switches_off(page, demo_data, assert_no_csp_violations):
    open_selfcheck(page, demo_data, category="8")  # 委託先の管理
    zero = question(page, 86).locator("label.choice").filter(has=page.locator("input[value='0']"))
    expect(zero).to_contain_text(re.compile(r"^\s*0\s+委託していない"))
    expect(zero.locator(".choice__switch")).to_have_text(re.compile(r"^→ 設問87〜\d+.*は該当なし$"))
    expect(question(page, 86).locator(".controls-note")).to_be_visible()
    waiting = question(page, 87).locator(".off-note")
    expect(waiting).to_contain_text("設問86に回答すると表示されます")
    expect(page.locator("#progress-provisional")).to_contain_text("設問86")

    assert choose(page, 86, 0).status == 200
    off = question(page, 87).locator(".off-note")
    expect(off).to_contain_text("該当なし（")
    expect(off).not_to_contain_text("回答すると表示されます")
    expect(page.locator("#progress-provisional")).not_to_contain_text("設問86")


# --- 4. notes --------------------------------------------------------------------------------------


def test_4_a_pasted_note_saves_counts_and_is_never_cut_short(page, demo_data, assert_no_csp_violations):
    open_selfcheck(page, demo_data)
    tracker = SaveTracker(page)
    note = page.locator("#note-1")
    counter = page.locator("#note-1-count")
    expect(counter).to_have_text(f"0 / {NOTE_MAX}文字")

    # A paste is an input event only: no key-up, no blur. It still saves.
    pasted = "委託先との契約書は総務課で保管しています。"
    note.focus()
    note.fill(pasted)
    expect(counter).to_have_text(f"{len(pasted)} / {NOTE_MAX}文字")
    tracker.wait_for(1)
    assert tracker.statuses == [200], tracker.statuses
    expect(save_state(page, 1)).to_contain_text("保存しました")
    assert active_id(page) == "note-1", "the save needed the note to lose focus"
    page.reload()
    expect(page.locator("#note-1")).to_have_value(pasted)

    # More than the limit: said beside the question, and nothing typed is cut off.
    note = page.locator("#note-1")
    too_long = "あ" * (NOTE_MAX + 1)
    note.fill(too_long)
    expect(counter).to_contain_text(f"{NOTE_MAX + 1} / {NOTE_MAX}文字")
    expect(counter).to_contain_text("1文字多すぎます")
    tracker.wait_for(2)
    assert tracker.statuses == [200, 422], tracker.statuses
    error = save_state(page, 1).locator(".save-state__error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(f"{NOTE_MAX}文字以内")
    expect(note).to_have_value(too_long)
    assert len(note.input_value()) == NOTE_MAX + 1


def test_4_leaving_while_a_note_is_not_saved_asks_first(page, demo_data, assert_no_csp_violations):
    open_selfcheck(page, demo_data)
    held = []
    page.route("**/answers/*", lambda route: held.append(route))  # the save never answers
    note = page.locator("#note-2")
    note.click()  # a real gesture: Chromium shows beforeunload only on a page the user has touched
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/answers/2"), timeout=15_000):
        note.press_sequentially("入力中")
    page.wait_for_function("() => document.querySelector('#q-2.htmx-request')")

    dialogs = []

    def on_dialog(dialog):
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", on_dialog)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/$"))
    assert dialogs == ["beforeunload"], dialogs
    for route in held:
        with contextlib.suppress(Exception):  # the page has gone, and the request with it
            route.abort()


# --- 5. accept and reopen are guarded and recorded ------------------------------------------------


def test_5_accepting_asks_first_and_reopening_is_recorded(page, demo_data, app, assert_no_csp_violations):
    submit_demo(app, demo_data.submission_id)
    log_in(page, "demo-center", demo_data.password)
    url = f"/review/submissions/{demo_data.submission_id}"
    page.goto(url)
    expect(status_badge(page)).to_have_text("提出済")
    accept_button = page.get_by_role("button", name="確認済にする")
    asked = []

    def answer(yes):
        def handle(dialog):
            asked.append(dialog.message)
            dialog.accept() if yes else dialog.dismiss()

        return handle

    page.once("dialog", answer(False))
    accept_button.click()
    assert asked and "確認済にします" in asked[-1], asked
    expect(page).to_have_url(re.compile(rf"{re.escape(url)}$"))
    page.reload()
    expect(status_badge(page)).to_have_text("提出済")  # nothing was sent
    expect(page.get_by_role("button", name="確認済にする")).to_be_visible()

    page.once("dialog", answer(True))
    page.get_by_role("button", name="確認済にする").click()
    expect(flash(page, "確認済にしました")).to_be_visible()
    assert len(asked) == 2
    expect(status_badge(page)).to_have_text("確認済")
    reopen = page.locator("#decision details.reopen")
    expect(reopen.locator("summary")).to_have_text("確認済を取り消す")
    reopen.locator("summary").click()
    reason = "添付資料の確認漏れがあったため、確認済を取り消します。"
    reopen.get_by_label("取り消す理由").fill(reason)
    page.once("dialog", answer(True))
    reopen.get_by_role("button", name="確認済を取り消す").click()
    expect(flash(page, "確認済を取り消しました")).to_be_visible()
    assert len(asked) == 3 and "取り消して" in asked[-1], asked
    expect(status_badge(page)).to_have_text("提出済")
    log = page.locator("#decision ul.decision-log li")
    latest = log.first
    expect(latest.locator(".decision-log__what")).to_have_text("確認済の取消し")
    expect(latest).to_contain_text(f"理由：{reason}")
    expect(latest).to_contain_text(f"（{CENTER_NAME}）")
    expect(log.nth(1).locator(".decision-log__what")).to_have_text("確認済")


# --- 6. the session's end --------------------------------------------------------------------------


def test_6_the_session_warns_two_minutes_ahead_and_can_be_extended(page, demo_data, app, assert_no_csp_violations):
    # The page's own clock is faked; the real IDLE_TIMEOUT (30 minutes) stays, so the warning is due at 28:00.
    page.clock.install()
    open_selfcheck(page, demo_data)
    idle = int(app.config["IDLE_TIMEOUT"].total_seconds())
    assert page.locator("body").get_attribute("data-idle-seconds") == str(idle)
    warning = page.locator("#session-warning")
    expect(warning).to_be_hidden()
    page.clock.run_for((idle - 121) * 1000)
    expect(warning).to_be_hidden()
    page.clock.run_for(2000)
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("まもなく自動的にログアウトします")
    keep = warning.get_by_role("button", name="ログインを続ける")
    expect(keep).to_be_focused()
    with page.expect_response(lambda r: r.url.endswith("/session/keepalive")) as renewed:
        keep.click()
    assert renewed.value.status == 204
    expect(warning).to_be_hidden()
    page.clock.run_for((idle - 121) * 1000)  # the clock started again from the click
    expect(warning).to_be_hidden()


def expire_and_autosave(page, app, monkeypatch, demo):
    """The session ends while the self-check is open; then the user chooses 3 on 設問1. Returns the login link."""
    open_selfcheck(page, demo)
    url = page.url
    # From now on one second without a request ends the session (the page was served under the real timeout).
    monkeypatch.setitem(app.config, "IDLE_TIMEOUT", timedelta(seconds=1))
    page.wait_for_timeout(2100)
    response = choose(page, 1, 3)
    assert response.status == 401
    expect(page).to_have_url(url)
    monkeypatch.setitem(app.config, "IDLE_TIMEOUT", timedelta(minutes=30))  # signing in again is not rushed
    return save_state(page, 1).get_by_role("link", name="別のタブでログインする")


def sign_in_from(link, context, demo):
    """Follow 「別のタブでログインする」 and sign in there; returns the new tab."""
    with context.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.set_default_timeout(10_000)
    expect(tab).to_have_url(re.compile(r"/login\?next="))
    tab.get_by_label("ログインID").fill(demo.agency_login)
    tab.get_by_label("パスワード").fill(demo.password)
    tab.get_by_role("button", name="ログイン").click()
    return tab


def test_6_an_autosave_after_the_session_ended_keeps_the_answer(
    page, context, demo_data, app, monkeypatch, assert_no_csp_violations
):
    link = expire_and_autosave(page, app, monkeypatch, demo_data)
    expect(radio(page, 1, 3)).to_be_checked()
    state = save_state(page, 1)
    expect(state).to_contain_text("ログインの有効期限が切れたため保存できませんでした")
    expect(state).to_contain_text("回答は画面に残っています")
    expect(link).to_have_attribute("href", re.compile(rf"next=%2Fsubmissions%2F{demo_data.submission_id}$"))
    expect(link).to_have_attribute("target", "_blank")

    # Signing in from that link (/login?next=<the self-check>) leads back to the self-check.
    tab = sign_in_from(link, context, demo_data)
    expect(tab).to_have_url(re.compile(rf"/submissions/{demo_data.submission_id}$"))
    expect(tab.get_by_role("heading", level=1)).to_contain_text("自己点検")
    expect(radio(page, 1, 3)).to_be_checked()  # the first tab still shows the unsaved answer


def test_6_after_signing_in_again_elsewhere_the_first_tab_saves_again(
    page, context, demo_data, app, monkeypatch, assert_no_csp_violations
):
    link = expire_and_autosave(page, app, monkeypatch, demo_data)
    tab = sign_in_from(link, context, demo_data)
    expect(tab).to_have_url(re.compile(rf"/submissions/{demo_data.submission_id}$"))
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 200, timeout=15_000) as saved:
        radio(page, 1, 2).check()  # as the message says: "もう一度選んでください"
    # the first try met the old session's token; the page took the new one and saved again by itself
    assert saved.value.url.endswith(f"/submissions/{demo_data.submission_id}/answers/1")
    expect(save_state(page, 1)).to_contain_text("保存しました")
    from agencyapp.models import Answer, ChecklistQuestion

    with app.app_context():
        value = db.session.scalar(
            select(Answer.value)
            .join(ChecklistQuestion, ChecklistQuestion.id == Answer.question_id)
            .where(Answer.submission_id == demo_data.submission_id, ChecklistQuestion.number == 1)
        )
        db.session.remove()
    assert value == 2


# --- 7. a stale save without JavaScript ------------------------------------------------------------


def test_7_a_stale_save_without_javascript_keeps_what_was_sent(
    page, new_context, console, demo_data, app, assert_no_csp_violations
):
    context = new_context(java_script_enabled=False)
    context.on("page", console.attach)
    nojs = context.new_page()
    nojs.set_default_timeout(10_000)
    log_in(nojs, demo_data.agency_login, demo_data.password)
    nojs.goto(f"/submissions/{demo_data.submission_id}")
    expect(nojs.get_by_role("button", name="入力内容を保存")).to_be_visible()

    save_as_agency(app, demo_data.submission_id, 1, 3)  # meanwhile, elsewhere: 設問1 = 3

    radio(nojs, 1, 2).check()
    radio(nojs, 2, 1).check()
    nojs.locator("#note-2").fill("この備考も残ること")
    with nojs.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/answers")) as sent:
        nojs.get_by_role("button", name="入力内容を保存").click()
    assert sent.value.status == 409
    expect(nojs.locator("main .notice--error[role=alert]").first).to_contain_text("保存できませんでした")
    expect(radio(nojs, 1, 2)).to_be_checked()
    expect(radio(nojs, 2, 1)).to_be_checked()
    expect(nojs.locator("#note-2")).to_have_value("この備考も残ること")
    conflict = question(nojs, 1).locator(".conflict-note")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text(re.compile(r"「3 [^」]+」に変更されています"))
    expect(question(nojs, 2).locator(".conflict-note")).to_have_count(0)  # nobody else changed 設問2
