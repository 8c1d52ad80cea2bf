"""The way agencies work, in a real browser: a contact of a unit with an approver starts from last year's
answers and confirms them 大分類 by 大分類, downloads the workbook, changes three answers in it with openpyxl,
uploads it and resolves the conflict with an answer changed online meanwhile, sends the self-check for
approval; the approver returns it, then approves it after a fix; it is submitted; the print view shows the
approval boxes. One console watch: no CSP violation anywhere."""

import re

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from agencyapp.extensions import db
from tests.browser.test_journey_review import flash, log_in, open_page
from tests.browser.test_journey_selfcheck import choose

pytestmark = pytest.mark.browser

RETURN_COMMENT = "設問4は一部実施なら備考に理由を書いてください。"


def _submission_id(app, login_id):
    from agencyapp.demo import DEMO_FISCAL_YEAR
    from agencyapp.models import Cycle, Submission, User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.login_id == login_id))
        found = db.session.scalar(
            select(Submission.id)
            .join(Cycle, Cycle.id == Submission.cycle_id)
            .where(Submission.unit_id == user.unit_id, Cycle.fiscal_year == DEMO_FISCAL_YEAR)
        )
        db.session.remove()
    return found


def _status(app, submission_id):
    from agencyapp.models import Submission

    with app.app_context():
        status = db.session.get(Submission, submission_id).status
        db.session.remove()
    return status


def _accept_dialogs(page):
    page.on("dialog", lambda dialog: dialog.accept())


def test_contact_and_approver_work_the_way_agencies_do(
    page, app, demo_data, new_context, console, tmp_path, assert_no_csp_violations
):
    sid = _submission_id(app, "demo-contact")
    _accept_dialogs(page)
    log_in(page, "demo-contact", demo_data.password)
    page.goto(f"/submissions/{sid}")

    # 1. Start from last year's answers; each is marked until confirmed.
    page.get_by_role("button", name="前年度の回答を引き継ぐ").click()
    expect(flash(page, "前年度の回答を")).to_be_visible()
    expect(page.locator(".badge--carried").first).to_be_visible()
    expect(page.locator("#progress-total .progress__text")).to_have_text(re.compile(r"^0 / "))

    # 2. Confirm 大分類 by 大分類 after reading them (the first one, then the rest through the list).
    codes = page.locator("nav.jump-list li a").evaluate_all("links => links.map(a => a.textContent.split('.')[0])")
    for code in codes:
        page.goto(f"/submissions/{sid}?cat={code}")
        button = page.get_by_role("button", name="この大分類をすべて確認")
        if button.count():
            button.click()
            expect(flash(page, "確認しました")).to_be_visible()
    page.goto(f"/submissions/{sid}?cat=1")
    expect(page.locator(".badge--carried")).to_have_count(0)

    # 3. Download the workbook and change three answers in it.
    page.locator("#workbook summary").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel ファイルをダウンロード").click()
    path = tmp_path / "selfcheck.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path)
    sheet = book["回答"]
    rows = {sheet.cell(r, 7).value: r for r in range(5, sheet.max_row + 1)}
    for number, value in ((2, 2), (3, 2), (4, 2)):
        sheet.cell(rows[number], 8).value = value
    book.save(path)

    # 4. Meanwhile question 2 changes online; the upload shows the conflict, the contact keeps the file's.
    choose(page, 2, 1)
    page.reload()
    page.locator("#workbook summary").click()
    page.get_by_label("記入した Excel ファイル").set_input_files(str(path))
    page.get_by_role("button", name="アップロードして内容を確認").click()
    expect(page.get_by_role("heading", name=re.compile("Excel ファイルの取り込み"))).to_be_visible()
    conflict = page.locator("#conflict-2")
    expect(conflict).to_contain_text("画面のいまの内容：1")
    expect(page.get_by_role("heading", name="変更される設問（2問）")).to_be_visible()
    page.get_by_role("button", name="取り込む").click()
    expect(page.locator("#import-error")).to_contain_text("設問2は、画面とファイルのどちらにするか")
    page.locator("#conflict-2").get_by_label(re.compile("ファイルの内容")).check()
    page.get_by_role("button", name="取り込む").click()
    expect(flash(page, "3件の回答を取り込みました")).to_be_visible()

    # 5. Send for approval.
    page.get_by_role("link", name="提出の確認へ進む").click()
    page.get_by_role("button", name="承認を依頼する").click()
    expect(flash(page, "承認を依頼しました")).to_be_visible()
    assert _status(app, sid) == "approval"

    # 6. The approver returns it with a comment.
    approver = open_page(new_context, console, "demo-approver", demo_data.password)
    _accept_dialogs(approver)
    approver.goto(f"/submissions/{sid}/approval")
    expect(approver.locator("code.hash").first).to_be_visible()
    approver.get_by_label(re.compile("差し戻す理由")).fill(RETURN_COMMENT)
    approver.get_by_role("button", name="差し戻す").click()
    expect(flash(approver, "差し戻しました")).to_be_visible()

    # 7. The contact fixes question 4 and asks again; the approver approves exactly that.
    page.goto(f"/submissions/{sid}?cat=1")
    page.locator("#note-4").fill("一部の端末で未実施のため2点としました。")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/answers/4")):
        page.locator("#note-4").blur()
    page.goto(f"/submissions/{sid}/submit")
    expect(page.get_by_text(RETURN_COMMENT)).to_be_visible()
    page.get_by_role("button", name="承認を依頼する").click()
    expect(flash(page, "承認を依頼しました")).to_be_visible()
    approver.goto(f"/submissions/{sid}/approval")
    approver.get_by_role("button", name="この内容で承認する").click()
    expect(flash(approver, "承認しました")).to_be_visible()

    # 8. Submitted, and on paper with the approval boxes.
    page.goto(f"/submissions/{sid}/submit")
    expect(page.locator(".badge--approved").first).to_be_visible()
    page.get_by_role("button", name="提出する").click()
    expect(flash(page, "提出しました")).to_be_visible()
    assert _status(app, sid) == "submitted"
    page.goto(f"/submissions/{sid}/print")
    page.emulate_media(media="print")
    boxes = page.locator("table.approval-boxes").first
    expect(boxes).to_be_visible()
    expect(boxes).to_contain_text("起案者")
    expect(boxes).to_contain_text("承認者")
    expect(page.locator(".print-answers tbody tr").first).to_be_visible()
    page.emulate_media(media="screen")
    assert_no_csp_violations()
