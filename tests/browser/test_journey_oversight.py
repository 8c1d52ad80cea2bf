"""The oversight journey in a real browser: the ministry (厚生労働省's 統括課) signs in and
its home is the read-only oversight of its own units, units needing attention first, with
totals and a chart; it drills into 年金局 (comparison chart, improvement points, the
agency's plan, the published hearing report), reads the frozen self-check, downloads the
Excel and CSV exports, and finds no way to change anything. Center-only material (the
internal review note, an unissued draft point, the hearing's internal memo) never reaches
it, another ministry's unit is a 404, and 年金局 sees in its 閲覧の記録 that the ministry
looked. One console watch over every context: no CSP violation anywhere.

Setup that is not the subject of this journey (the agency's submission, the center's
improvement request, the agency's plan, a reported hearing) goes through the services."""

import csv
import io
import re
import secrets
from datetime import time, timedelta

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from agencyapp import priority
from agencyapp.demo import ORGANISATIONS
from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from tests.browser.test_journey_review import Timer, log_in, open_page, status_badge
from tests.factories import act
from tests.test_review import submit_answers

pytestmark = pytest.mark.browser

MHLW_UNIT_NAMES = [name for _, name, _ in next(units for code, _, units in ORGANISATIONS if code == "mhlw")]

MINISTRY = "厚生労働省"
AGENCY_UNIT = "厚生労働省 年金局"
MINISTRY_UNITS = {  # full names (ministry, then unit) of the five 厚生労働省 units of the demo
    "厚生労働省 年金局",
    "厚生労働省 社会・援護局 援護・業務課",
    "厚生労働省 職業安定局 雇用保険課",
    "厚生労働省 労働基準局 労災管理課",
    "厚生労働省 日本年金機構",
}
BUSY_UNIT = "厚生労働省 労働基準局 労災管理課"
BUSY_UNIT_CODE = "mhlw-rousai"
MINISTRY_VIEWER = "統括 次郎"  # demo-ministry's display name
OTHER_MINISTRY_MARKERS = ("外務省", "旅券")
PLAN = "情報セキュリティ規程を改正し、年金局の全職員に研修で周知します。"
READONLY = "この画面は閲覧のみです"
EXPORT_SHEETS = ("概要", "回答", "改善点", "ヒアリング・訪問")
CHANGE_BUTTONS = ("回答を送信", "完了にする", "差し戻す")


def users_by_login(*login_ids):
    from agencyapp.models import User

    rows = db.session.scalars(select(User).where(User.login_id.in_(login_ids))).all()
    return {u.login_id: u for u in rows}


def prepare_nenkin(app, submission_id, secret):
    """年金局 submits; the center issues its suggestions; the agency answers one point with a plan;
    a hearing is held and its report published. Plus center-only material that must stay hidden."""
    from agencyapp.models import Hearing, ImprovementPoint, Submission, Unit
    from agencyapp.services import hearings, improvements, review

    with app.app_context():
        users = users_by_login("demo-agency", "demo-center")
        agency, center = users["demo-agency"], users["demo-center"]
        submission = submit_answers(agency, db.session.get(Submission, submission_id))
        assert submission.status == "submitted", submission.status

        assert act(improvements.suggest_points, center, submission) == 2
        drafts = db.session.scalars(
            select(ImprovementPoint.id).where(
                ImprovementPoint.submission_id == submission.id, ImprovementPoint.status == "draft"
            )
        ).all()
        act(improvements.issue_request, center, submission, drafts, today_tokyo() + timedelta(days=30))
        db.session.expire_all()
        point = db.session.get(ImprovementPoint, min(drafts))
        act(
            improvements.answer_point,
            agency,
            point,
            PLAN,
            today_tokyo() + timedelta(days=60),
            "",
            None,
            point.lock_version,
        )

        # Center-only: an internal review note and a draft point that is never issued.
        act(review.add_note, center, submission, secret["note"])
        act(improvements.add_point, center, submission, None, secret["draft"], "下書きのまま発行しない指摘です。")

        hearing = act(
            hearings.create_hearings, center, submission.cycle, [submission.unit_id], "hearing", "", priority.WEIGHTS
        )[0]
        hearing_id = hearing.id
        day = today_tokyo() + timedelta(days=14)
        act(
            hearings.propose_slots,
            center,
            hearing,
            [hearings.SlotInput(day, time(10, 0), time(11, 0), "会議室A")],
            hearing.lock_version,
        )

        def fresh():
            db.session.expire_all()
            return db.session.get(Hearing, hearing_id)

        hearing = fresh()
        slot_id = hearing.slots[0].id
        act(hearings.pick_slot, agency, hearing, slot_id, "", hearing.lock_version)
        hearing = fresh()
        act(hearings.confirm, center, hearing, slot_id, "", False, hearing.lock_version)
        hearing = fresh()
        act(
            hearings.save_record,
            center,
            hearing,
            "情報 太郎",
            "年金 花子",
            secret["minutes"],
            secret["memo"],
            hearing.lock_version,
        )
        hearing = fresh()
        act(hearings.publish_report, center, hearing, hearing.lock_version)
        assert fresh().status == "reported"

        # 労災管理課 (listed after 年金局 in the ministry) gets many open points: it must come first.
        busy = db.session.scalar(
            select(Submission)
            .join(Unit, Unit.id == Submission.unit_id)
            .where(Unit.code == BUSY_UNIT_CODE, Submission.cycle_id == submission.cycle_id)
        )
        assert busy.status == "submitted", busy.status
        assert act(improvements.suggest_points, center, busy) >= 3
        drafts = db.session.scalars(
            select(ImprovementPoint.id).where(
                ImprovementPoint.submission_id == busy.id, ImprovementPoint.status == "draft"
            )
        ).all()
        act(improvements.issue_request, center, busy, drafts, today_tokyo() + timedelta(days=30))
        db.session.remove()
    return hearing_id


def other_ministry_ids(app):
    """The unit and the current submission of demo-agency2 (外務省 領事局旅券課)."""
    from agencyapp.models import Cycle, Submission, Unit

    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "mofa-ryoji"))
        submission_id = db.session.scalar(
            select(Submission.id)
            .join(Cycle, Cycle.id == Submission.cycle_id)
            .where(Submission.unit_id == unit_id)
            .order_by(Cycle.fiscal_year.desc())
            .limit(1)
        )
        db.session.remove()
    assert unit_id and submission_id
    return unit_id, submission_id


def main_post_forms(page):
    """POST forms inside <main> (the header's logout form is outside it), but the request for an export
    (form.exports: it adds a job to the user's own list and changes nothing else)."""
    return page.locator("main form[method=post]:not(.exports)").count()


def assert_no_secrets(page, secret, where):
    html = page.content()
    for key in ("note", "draft", "memo"):
        assert secret[key] not in html, f"{key} {secret[key]!r} is visible to the ministry on the {where} page"


def units_table(page):
    return page.locator("section[aria-labelledby=units-title] table tbody tr")


def sheet_text(sheet):
    return "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None)


def test_ministry_oversees_its_units_read_only(page, new_context, console, demo_data, app, assert_no_csp_violations):
    timer = Timer()
    password = demo_data.password
    suffix = secrets.token_hex(4)
    secret = {
        "minutes": f"議事録-{suffix}",
        "memo": f"内部メモ-{suffix}",
        "note": f"内部審査メモ-{suffix}",
        "draft": f"下書き指摘-{suffix}",
    }
    hearing_id = prepare_nenkin(app, demo_data.submission_id, secret)
    other_unit_id, other_submission_id = other_ministry_ids(app)
    timer.lap("setup (services)")

    # 1. The ministry's home is the read-only oversight of its own units, with totals and a chart.
    ministry = page
    log_in(ministry, "demo-ministry", password)
    home_url = ministry.url
    expect(ministry.get_by_role("heading", level=1)).to_contain_text(MINISTRY)
    main = ministry.locator("main")
    expect(main.locator(".readonly-note")).to_contain_text("閲覧のみ")
    rows = units_table(ministry)
    expect(rows.first).to_be_visible()
    names = [t.strip() for t in rows.locator("th[scope=row]").all_inner_texts()]
    assert set(names) == MINISTRY_UNITS and len(names) == len(MINISTRY_UNITS), names
    html = ministry.content()
    for marker in OTHER_MINISTRY_MARKERS:
        assert marker not in html, f"{marker} appears on the ministry's home"
    totals = ministry.locator("section[aria-labelledby=totals-title] dl.facts")
    expect(ministry.locator("#totals-title")).to_contain_text(f"{MINISTRY}の合計")
    expect(totals.locator("div").filter(has_text="対象機関").locator("dd")).to_have_text(
        f"{len(MINISTRY_UNITS)}機関（提出 {len(MINISTRY_UNITS)}）"
    )
    expect(totals.locator("div").filter(has_text="平均点（提出機関）").locator("dd")).to_have_text(
        re.compile(r"^\d\.\d+")
    )
    open_total = totals.locator("div").filter(has_text="未完了の改善点").locator("dd")
    expect(open_total).to_have_text(re.compile(r"^\d+件（うち期限超過 0件）$"))
    attention_total = totals.locator("div").filter(has_text="注意が必要な機関").locator("dd")
    expect(attention_total).to_have_text(re.compile(r"^\d+機関$"))
    chart = ministry.locator("figure.chart").filter(has=ministry.locator("svg[data-chart=category-chart]"))
    expect(chart).to_have_count(1)
    bars = chart.locator("svg rect[data-value]")
    assert bars.count() > 0
    assert set(chart.locator("svg rect[data-series]").evaluate_all("rs => rs.map(r => r.dataset.series)")) == {
        MINISTRY,
        "全国",
    }
    values = [v for v in bars.evaluate_all("rs => rs.map(r => r.dataset.value)") if v]
    assert values and all(0 <= float(v) <= 3 for v in values), values
    data_rows = chart.locator("table.chart__table tbody tr")
    assert data_rows.count() > 0
    expect(chart.locator("table.chart__table thead")).to_contain_text(MINISTRY)
    expect(chart.locator("table.chart__table thead")).to_contain_text("全国")
    assert main_post_forms(ministry) == 0, "a POST form on the oversight home"
    assert_no_secrets(ministry, secret, "home")
    timer.lap("home")

    # 2. Units needing attention come first: every flagged row precedes every row with '－';
    # among them, more reasons first, then more open points, then the ministry's own order.
    table = []
    for i in range(rows.count()):
        cells = [t.strip() for t in rows.nth(i).locator("td").all_inner_texts()]
        # cells: 状況, 平均点, 満点率, 今年度の重要点検項目, 過年度の重要点検項目, 改善点（未完了／期限超過）, …
        open_points, overdue = (int(n) for n in cells[5].split("／"))
        table.append(
            {
                "name": names[i],
                "attention": cells[-1],
                "open": open_points,
                "overdue": overdue,
                "flag_class": "row--flag" in (rows.nth(i).get_attribute("class") or ""),
            }
        )
    print(f"\noversight rows: {[(r['name'], r['attention'], r['open']) for r in table]}")
    flagged = [i for i, r in enumerate(table) if r["attention"] != "－"]
    plain = [i for i, r in enumerate(table) if r["attention"] == "－"]
    assert all(table[i]["attention"] for i in flagged), table
    assert flagged, table  # at least 年金局 (重要点検項目 未達成) and 労災管理課
    assert not plain or max(flagged) < min(plain), table
    assert [r["flag_class"] for r in table] == [r["attention"] != "－" for r in table], table
    position = {(n if n.startswith(MINISTRY) else f"{MINISTRY} {n}"): i for i, n in enumerate(MHLW_UNIT_NAMES)}
    reasons = [0 if r["attention"] == "－" else len(r["attention"].split("、")) for r in table]
    keys = [(-reasons[i], -(r["open"] + r["overdue"]), position[r["name"]]) for i, r in enumerate(table)]
    assert keys == sorted(keys), list(zip(names, keys, strict=True))
    by_name = {r["name"]: r for r in table}
    assert by_name[AGENCY_UNIT]["open"] == 2, by_name[AGENCY_UNIT]
    assert "重要点検項目 未達成" in by_name[AGENCY_UNIT]["attention"]
    assert (
        by_name[BUSY_UNIT]["open"] >= 3
        and f"未完了の改善点 {by_name[BUSY_UNIT]['open']}件" in by_name[BUSY_UNIT]["attention"]
    ), by_name[BUSY_UNIT]
    assert names.index(BUSY_UNIT) < names.index(AGENCY_UNIT), names  # although listed after it in the ministry
    expect(open_total).to_have_text(re.compile(rf"^{sum(r['open'] for r in table)}件"))
    expect(attention_total).to_have_text(f"{len(flagged)}機関")
    nenkin_row = rows.filter(has=ministry.get_by_role("rowheader", name=AGENCY_UNIT, exact=True))
    expect(nenkin_row).to_contain_text("個別ヒアリング：報告済")
    timer.lap("attention order")

    # 3. 年金局's unit page: read-only, a three-series comparison chart, its improvement points.
    nenkin_row.get_by_role("link", name=AGENCY_UNIT, exact=True).click()
    expect(ministry).to_have_url(re.compile(r"/oversight/units/\d+\?cycle=\d+$"))
    unit_url = ministry.url
    expect(ministry.get_by_role("heading", level=1)).to_have_text(AGENCY_UNIT)
    expect(ministry.locator("main .readonly-note")).to_contain_text("閲覧のみ")
    unit_chart = ministry.locator("figure.chart").filter(has=ministry.locator("svg[data-chart=unit-chart]"))
    expect(unit_chart).to_have_count(1)
    series = unit_chart.locator("svg rect[data-series]").evaluate_all("rs => rs.map(r => r.dataset.series)")
    assert set(series) == {AGENCY_UNIT, MINISTRY, "全国"}, set(series)
    expect(unit_chart.locator("table.chart__table thead th")).to_have_text(["項目", AGENCY_UNIT, MINISTRY, "全国"])
    points = ministry.locator("section[aria-labelledby=points-title]")
    expect(ministry.locator("#points-title")).to_have_text("改善点（2件）")
    point_rows = points.locator("tbody tr")
    expect(point_rows).to_have_count(2)
    answered_row = point_rows.filter(has_text="計画：")
    expect(answered_row).to_have_count(1)
    expect(answered_row.locator(".badge")).to_have_text("回答済")
    expect(point_rows.filter(has_text="未回答").locator(".badge")).to_have_text("依頼中")
    assert main_post_forms(ministry) == 0, "a POST form on the oversight unit page"
    assert_no_secrets(ministry, secret, "unit")
    timer.lap("unit page")

    # ... one point: the agency's plan and the history, and nothing to press.
    answered_row.locator("a[href*='/improvements/points/']").click()
    expect(ministry).to_have_url(re.compile(r"/improvements/points/\d+$"))
    expect(ministry.get_by_role("heading", level=1)).to_have_text(re.compile(r"^改善点（設問\d+）$"))
    expect(ministry.locator("main .readonly-note")).to_contain_text(READONLY)
    expect(status_badge(ministry)).to_have_text("回答済")
    expect(ministry.locator("section").filter(has=ministry.locator("#answer-title"))).to_contain_text(PLAN)
    history = ministry.locator("ol.history")
    expect(history).to_contain_text("改善依頼を発行")
    expect(history).to_contain_text("機関が回答")
    expect(history).to_contain_text(PLAN)
    expect(ministry.locator("main form")).to_have_count(0)
    for name in CHANGE_BUTTONS:
        expect(ministry.get_by_role("button", name=name)).to_have_count(0)
    expect(ministry.locator("main textarea, main input:not([type=hidden])")).to_have_count(0)
    assert main_post_forms(ministry) == 0, "a POST form on the point page"
    assert_no_secrets(ministry, secret, "point")

    # ... back, then the hearing: the minutes, never the internal memo.
    ministry.go_back()
    expect(ministry).to_have_url(unit_url)
    hearings = ministry.locator("section[aria-labelledby=hearings-title]")
    link_css = f"a[href$='/hearings/{hearing_id}']"
    hearing_link = hearings.locator(link_css)
    expect(hearing_link).to_have_count(1)
    expect(hearing_link).to_have_text(re.compile("個別ヒアリング$"))
    expect(hearings.locator("li").filter(has=ministry.locator(link_css))).to_contain_text("報告済")
    hearing_link.click()
    expect(ministry).to_have_url(re.compile(rf"/hearings/{hearing_id}$"))
    expect(ministry.get_by_role("heading", level=1)).to_have_text(f"個別ヒアリング：{AGENCY_UNIT}")
    expect(ministry.locator("main .readonly-note")).to_contain_text(READONLY)
    expect(status_badge(ministry)).to_have_text("報告済")
    report = ministry.locator("section").filter(has=ministry.get_by_role("heading", name="報告", exact=True))
    expect(report).to_contain_text(secret["minutes"])
    expect(ministry.get_by_text(secret["memo"])).to_have_count(0)
    assert main_post_forms(ministry) == 0, "a POST form on the hearing page"
    assert_no_secrets(ministry, secret, "hearing")
    timer.lap("point and hearing")

    # 4. 回答内容を見る: the frozen self-check, read-only, without a single radio button.
    ministry.goto(unit_url)
    ministry.get_by_role("link", name=re.compile("^回答内容を見る")).click()
    expect(ministry).to_have_url(re.compile(rf"/submissions/{demo_data.submission_id}$"))
    expect(ministry.get_by_role("heading", level=1)).to_contain_text(AGENCY_UNIT)
    expect(ministry.locator("main .readonly-note")).to_contain_text(READONLY)
    expect(ministry.locator("main .answer-readonly").first).to_contain_text("回答：")
    expect(ministry.locator("input[type=radio]")).to_have_count(0)
    expect(ministry.locator("main textarea")).to_have_count(0)
    expect(ministry.get_by_role("button", name="入力内容を保存")).to_have_count(0)
    expect(ministry.get_by_role("link", name="提出の確認へ進む")).to_have_count(0)
    expect(ministry.locator("#views")).to_have_count(0)  # who looked: the unit and the center only
    expect(ministry.locator("main form")).to_have_count(0)  # not even a form without buttons
    assert main_post_forms(ministry) == 0, "a POST form on the read-only self-check page"
    assert_no_secrets(ministry, secret, "self-check")
    timer.lap("self-check")

    # 5. Both exports from the home page.
    ministry.goto(home_url)
    ministry.get_by_role("button", name="Excel（.xlsx、全シート）を作成").click()
    expect(ministry.get_by_role("heading", level=1)).to_have_text("出力の作成")
    download = ministry.get_by_role("link", name=re.compile(r"をダウンロード$"))
    expect(download).to_be_visible()  # the queue made it (at once in the tests; polled every 2 s otherwise)
    with ministry.expect_download() as xlsx_info:
        download.click()
    xlsx = xlsx_info.value
    assert re.fullmatch(r"oversight-2026-mhlw-\d{8}\.xlsx", xlsx.suggested_filename), xlsx.suggested_filename
    with open(xlsx.path(), "rb") as f:  # the download's path has no .xlsx extension
        book = load_workbook(io.BytesIO(f.read()))
    assert all(name in book.sheetnames for name in EXPORT_SHEETS), book.sheetnames
    summary = book["概要"]
    summary_rows = list(summary.iter_rows(values_only=True))
    assert summary_rows[2][:2] == ("府省", "機関"), summary_rows[2]  # under the title line and a blank line
    assert {r[1] for r in summary_rows[3:]} == set(MHLW_UNIT_NAMES), [r[1] for r in summary_rows[3:]]
    assert {r[0] for r in summary_rows[3:]} == {MINISTRY}
    for name in EXPORT_SHEETS:
        text = sheet_text(book[name])
        for marker in OTHER_MINISTRY_MARKERS:
            assert marker not in text, f"{marker} in the {name} sheet"
        for key in ("note", "draft", "memo"):
            assert secret[key] not in text, f"{key} {secret[key]!r} in the {name} sheet"
    points_text = sheet_text(book["改善点"])
    assert PLAN in points_text and AGENCY_UNIT in points_text
    nenkin_points = [r for r in book["改善点"].iter_rows(min_row=4, values_only=True) if r[1] == AGENCY_UNIT]
    assert len(nenkin_points) == 2, nenkin_points  # the two issued, not the draft
    assert [r[7] for r in nenkin_points].count(PLAN) == 1, nenkin_points
    hearing_sheet = sheet_text(book["ヒアリング・訪問"])
    assert secret["minutes"] in hearing_sheet, hearing_sheet
    assert secret["memo"] not in hearing_sheet
    assert len(list(book["回答"].iter_rows(min_row=4, values_only=True))) > 0

    ministry.goto(home_url)
    with ministry.expect_download() as csv_info:
        ministry.locator("form.exports").get_by_role("link", name="概要", exact=True).click()
    with open(csv_info.value.path(), "rb") as f:
        body = f.read()
    assert body.startswith(b"\xef\xbb\xbf"), body[:10]
    csv_rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert csv_rows[2][:4] == ["府省", "機関", "状況", "提出日時"], csv_rows[2]  # title line, blank line, header
    assert "注意事項" in csv_rows[2]
    assert {r[1] for r in csv_rows[3:]} == set(MHLW_UNIT_NAMES), csv_rows
    assert not any(m in body.decode("utf-8-sig") for m in OTHER_MINISTRY_MARKERS)
    timer.lap("exports")

    # 6. (checked on every page above) no POST form in <main>, no center-only text. The home again:
    expect(ministry.get_by_role("heading", level=1)).to_contain_text(MINISTRY)
    assert main_post_forms(ministry) == 0

    # 7. Another ministry's unit and submission do not exist for this ministry.
    for path in (f"/oversight/units/{other_unit_id}", f"/submissions/{other_submission_id}"):
        response = ministry.goto(path)
        assert response.status == 404, (path, response.status)
        assert not any(m in ministry.content() for m in OTHER_MINISTRY_MARKERS), path
    timer.lap("other ministry 404")

    # 8. 年金局 sees that the ministry opened its self-check.
    agency = open_page(new_context, console, "demo-agency", password)
    agency.goto(f"/submissions/{demo_data.submission_id}")
    views = agency.locator("#views")
    expect(views).to_be_visible()
    viewer_rows = views.locator("tbody tr").filter(has_text=MINISTRY_VIEWER)
    expect(viewer_rows.first).to_be_visible()
    expect(viewer_rows.filter(has_text="回答内容")).to_have_count(1)  # opened once
    expect(viewer_rows.filter(has_text="府省別の状況").first).to_be_visible()  # the unit page, more than once
    expect(views.get_by_role("heading", level=2)).to_contain_text("閲覧の記録")
    timer.lap("agency sees the views")

    # 9. No CSP violation and no script error in any of the contexts.
    assert_no_csp_violations()
    print("\noversight journey timings (s): " + timer.report())
