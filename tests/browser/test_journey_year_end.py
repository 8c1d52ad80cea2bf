"""The year's close in a real browser: the center closes last year after a confirmation, finds the point that
was still open carried into this year with its history, produces the committee report (on screen, as .xlsx
and on A4) and the ministry opens its own report beside the national figures. One console watch: no CSP
violation anywhere."""

import re

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from agencyapp.extensions import db
from tests.browser.test_journey_review import flash, log_in, open_page

pytestmark = pytest.mark.browser


def _last_year(app):
    from agencyapp.demo import DEMO_FISCAL_YEAR
    from agencyapp.models import Cycle

    with app.app_context():
        cycle_id = db.session.scalar(select(Cycle.id).where(Cycle.fiscal_year == DEMO_FISCAL_YEAR - 1))
        db.session.remove()
    return cycle_id


def test_center_closes_last_year_and_reports_to_the_committee(
    page, app, demo_data, new_context, console, tmp_path, assert_no_csp_violations
):
    cycle_id = _last_year(app)
    log_in(page, "demo-center", demo_data.password)

    # 1. 年度点検 → 年度を締める on last year's row: what will happen, then a confirmation.
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="年度点検").click()
    row = page.locator("tr").filter(has_text="令和7年度")
    expect(row.get_by_text("実施中")).to_be_visible()
    row.get_by_role("link", name="年度を締める").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("を締める")
    expect(page.locator("main")).to_contain_text("未完了の改善点 1件")
    page.get_by_role("button", name="年度を締める").click()
    expect(page.get_by_role("alert")).to_contain_text("チェックを入れてください")
    page.get_by_label(re.compile("上の内容を確認しました")).check()
    page.get_by_role("button", name="年度を締める").click()
    expect(flash(page, "を締めました")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/reports/\?cycle={cycle_id}$"))
    expect(page.locator("main")).to_contain_text("確定")
    expect(page.locator("main")).not_to_contain_text("暫定：")

    # 2. The point still open is carried into this year: the same point, its history kept.
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="改善点").click()
    carried = page.locator("tr").filter(has=page.locator(".badge--carried"))
    expect(carried).to_have_count(1)
    carried.get_by_role("link").first.click()
    expect(page.locator("main")).to_contain_text("令和7年度（2025年度）の点検から繰越")
    history = page.locator("main")
    expect(history).to_contain_text("改善依頼を発行")
    expect(history).to_contain_text("翌年度へ繰越")

    # 3. The report: charts with their data tables, the ministries, the important items; .xlsx; A4.
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="委員会報告").click()
    page.get_by_label("年度点検").select_option(str(cycle_id))
    page.get_by_role("button", name="表示").click()
    main = page.locator("main")
    expect(main.get_by_role("heading", name="1. 回答状況")).to_be_visible()
    expect(main.locator("svg.chart__svg")).to_have_count(2)
    expect(main.locator("table.chart__table").first).to_contain_text("1. 組織・体制")
    expect(main.get_by_role("table", name="府省別", exact=True)).to_contain_text("厚生労働省")
    expect(main.get_by_role("table", name="府省別・大分類ごとの平均点")).to_contain_text("厚生労働省")
    expect(main.get_by_role("heading", name="3. 重要点検項目")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel（.xlsx）で出力").click()
    path = tmp_path / "report.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "表紙" and "重要点検項目" in book.sheetnames
    cover = {r[0]: r[1] for r in book["表紙"].iter_rows(min_row=4, values_only=True) if r[0]}
    assert cover["年度"] == "令和7年度（2025年度）" and cover["数値の状態"].startswith("確定")
    page.get_by_role("link", name="印刷用の表示（A4）").click()
    page.emulate_media(media="print")
    expect(page.locator("table.approval-boxes")).to_contain_text("決裁")
    expect(page.locator(".main-nav")).to_be_hidden()
    expect(page.locator("article.report-print")).to_contain_text("結果報告（全国）")
    page.emulate_media(media="screen")

    # 4. The ministry's 統括課 opens its own report, beside the national figures, read-only.
    ministry = open_page(new_context, console, "demo-ministry", demo_data.password)
    ministry.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="委員会報告").click()
    ministry.get_by_label("年度点検").select_option(str(cycle_id))
    ministry.get_by_role("button", name="表示").click()
    expect(ministry.get_by_role("heading", level=1)).to_contain_text("結果報告（厚生労働省）")
    expect(ministry.locator("main table").first.locator("thead")).to_contain_text("全国")
    expect(ministry.get_by_label("範囲")).to_have_count(0)  # no other ministry to choose
    expect(ministry.locator("main form[method=post]")).to_have_count(0)
    assert_no_csp_violations()
