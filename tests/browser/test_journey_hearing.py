"""The hearing journey in a real browser: the center ranks the units by priority,
adjusts a weight, makes 年金局 a candidate, offers two slots; the agency picks
one; the center confirms it (and downloads the .ics), records the hearing, adds a
finding and turns it into a draft improvement point, then publishes the report.
Before publishing the agency sees no minutes; afterwards it sees the minutes and
the finding but never the internal memo. The ministry sees the report read-only,
another unit gets 404, and the season calendar shows the hearing on its day. One
console watch over every context: no CSP violation anywhere."""

import re
import secrets
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.test_journey_review import Timer, flash, log_in, open_page, status_badge, tokyo_today

pytestmark = pytest.mark.browser

AGENCY_UNIT = "厚生労働省 年金局"
LOW_MEAN_LABEL = "平均点の低さ（3 − 平均点）"
PLACE = "会議室A / オンライン"
FINDING_QUESTION = 87
REASON_LINE = re.compile(r"^(?P<label>.+)：(?P<amount>[\d.]+) × (?P<weight>[\d.]+) ＝ (?P<points>[\d.]+)$")


def candidate_rows(page):
    return page.locator("table.table tbody tr")


def row_of(page, unit_name):
    return candidate_rows(page).filter(has=page.get_by_role("rowheader", name=unit_name, exact=True))


def score_of(row):
    return float(row.locator(".score-big").inner_text())


def reasons_of(row):
    """{label: (amount, weight, points)} of one candidate row."""
    result = {}
    for text in row.locator("ul.reasons li").all_inner_texts():
        match = REASON_LINE.match(text.strip())
        if match:
            result[match["label"]] = (float(match["amount"]), float(match["weight"]), float(match["points"]))
    return result


def slot_group(page, index):
    return page.get_by_role("group", name=re.compile(rf"^候補{index}(\s|$)"))


WEEKDAYS = "月火水木金土日"


def date_ja(day):
    return f"{day.year}年{day.month}月{day.day}日"


def test_center_selects_schedules_records_and_publishes_a_hearing(
    page, new_context, console, demo_data, assert_no_csp_violations
):
    timer = Timer()
    password = demo_data.password
    suffix = secrets.token_hex(4)
    minutes = f"議事録テキスト-{suffix}"
    memo = f"内部メモ-{suffix}"
    comment = f"前回のヒアリングから間が空いているため-{suffix}"
    finding_text = f"委託先の監査記録が確認できませんでした-{suffix}"

    # 1. The center opens ヒアリング → 候補を選ぶ: every unit ranked by priority, with its reasons.
    center = page
    log_in(center, "demo-center", password)
    center.locator(".main-nav").get_by_role("link", name="ヒアリング").click()
    expect(center).to_have_url(re.compile(r"/hearings/$"))
    expect(center.get_by_role("heading", level=1)).to_have_text("ヒアリング・訪問")
    center.get_by_role("link", name="候補を選ぶ").click()
    expect(center).to_have_url(re.compile(r"/hearings/candidates\?cycle=\d+$"))
    expect(center.get_by_role("heading", level=1)).to_have_text("ヒアリング・訪問の候補")
    rows = candidate_rows(center)
    expect(rows.first).to_be_visible()
    assert rows.count() >= 10, rows.count()
    scores = [float(s) for s in center.locator("table.table tbody .score-big").all_inner_texts()]
    assert scores == sorted(scores, reverse=True), scores
    assert scores[0] > 0, scores
    expect(rows.first.locator("ul.reasons")).to_contain_text("×")
    expect(rows.first.locator("ul.reasons")).to_contain_text("＝")
    for i in range(rows.count()):  # each score is the sum of its reasons' points
        reasons = reasons_of(rows.nth(i))
        assert abs(sum(p for _, _, p in reasons.values()) - scores[i]) < 0.05, (i, reasons, scores[i])
    expect(row_of(center, AGENCY_UNIT)).to_have_count(1)
    expect(row_of(center, AGENCY_UNIT).locator("ul.reasons")).to_contain_text("前回のヒアリング・訪問からの年数")

    # A unit that submitted this year has a 平均点の低さ reason: doubling that weight changes its score.
    target = next(i for i in range(rows.count()) if LOW_MEAN_LABEL in reasons_of(rows.nth(i)))
    target_name = rows.nth(target).get_by_role("rowheader").inner_text().strip()
    amount, weight, _ = reasons_of(rows.nth(target))[LOW_MEAN_LABEL]
    assert weight == 10 and amount > 0, (amount, weight)
    score_before = score_of(rows.nth(target))
    center.locator("details.weights summary").filter(has_text="重みを調整する").click()
    weight_input = center.get_by_label(LOW_MEAN_LABEL)
    expect(weight_input).to_be_visible()
    expect(weight_input).to_have_value(re.compile(r"^10(\.0+)?$"))
    weight_input.fill("20")
    center.get_by_role("button", name="再計算").click()
    expect(center).to_have_url(re.compile(r"[?&]w_low_mean=20(&|$)"))
    target_row = row_of(center, target_name)
    expect(target_row.locator("ul.reasons")).to_contain_text(re.compile(r"平均点の低さ（3 − 平均点）：[\d.]+ × 20 ＝"))
    score_after = score_of(target_row)
    assert abs(score_after - (score_before + amount * 10)) < 0.05, (target_name, score_before, amount, score_after)
    scores = [float(s) for s in center.locator("table.table tbody .score-big").all_inner_texts()]
    assert scores == sorted(scores, reverse=True), scores
    # The weight is kept for the session: a plain reload of the page still uses 20.
    center.goto("/hearings/candidates")
    expect(center.get_by_label(LOW_MEAN_LABEL)).to_have_value(re.compile(r"^20(\.0+)?$"))
    assert abs(score_of(row_of(center, target_name)) - score_after) < 0.005
    timer.lap("candidates and weights")

    # 2. 年金局 becomes a candidate for an individual hearing, with a comment on why.
    center.get_by_role("checkbox", name=f"{AGENCY_UNIT}を選ぶ").check()
    expect(center.get_by_role("radio", name="個別ヒアリング")).to_be_checked()
    center.get_by_label("選定の理由（補足・任意）").fill(comment)
    center.get_by_role("button", name="候補にする").click()
    expect(center).to_have_url(re.compile(r"/hearings/\?cycle=\d+$"))
    expect(flash(center, "1機関を候補にしました")).to_be_visible()
    season_row = center.locator("table.table tbody tr").filter(
        has=center.get_by_role("link", name=AGENCY_UNIT, exact=True)
    )
    expect(season_row).to_have_count(1)
    expect(season_row.locator(".badge")).to_have_text("候補")
    expect(season_row).to_contain_text("個別ヒアリング")
    expect(season_row).to_contain_text("未定")
    timer.lap("candidate")

    # 3. The center opens the hearing and offers two slots 14 days ahead (Japan time).
    season_row.get_by_role("link", name=AGENCY_UNIT, exact=True).click()
    expect(center).to_have_url(re.compile(r"/hearings/\d+$"))
    hearing_url = center.url
    hearing_path = re.search(r"/hearings/\d+$", hearing_url).group(0)
    expect(center.get_by_role("heading", level=1)).to_have_text(f"個別ヒアリング：{AGENCY_UNIT}")
    expect(status_badge(center)).to_have_text("候補")
    expect(center.locator("#selection-title + p")).to_contain_text(comment)
    expect(center.locator("#selection-title + p")).to_contain_text(re.compile(r"^優先度 [\d.]+（"))
    propose = center.locator("details").filter(has=center.locator("summary", has_text="候補日時を提示する"))
    if propose.get_attribute("open") is None:
        propose.locator("summary").click()
    day = tokyo_today() + timedelta(days=14)
    for index, (start, end) in enumerate([("10:00", "11:00"), ("14:00", "15:00")], start=1):
        group = slot_group(center, index)
        group.get_by_label("日付").fill(day.isoformat())
        group.get_by_label("開始（日本時間）").fill(start)
        group.get_by_label("終了（日本時間）").fill(end)
        group.get_by_label("場所・オンライン会議の情報").fill(PLACE)
    center.get_by_role("button", name="候補日時を提示", exact=True).click()
    expect(flash(center, "候補日時を提示しました")).to_be_visible()
    expect(status_badge(center)).to_have_text("日程調整中")
    slots = center.get_by_role("group", name="候補日時（日本時間）").get_by_role("radio")
    expect(slots).to_have_count(2)
    weekday = f"{date_ja(day)}（{WEEKDAYS[day.weekday()]}）"  # slots show their weekday
    expect(center.get_by_role("radio", name=re.compile(rf"{weekday} 10:00〜11:00"))).to_be_visible()
    expect(center.get_by_role("radio", name=re.compile(rf"{weekday} 14:00〜15:00"))).to_be_visible()
    timer.lap("propose")

    # 4. The agency finds the hearing under ヒアリング and picks the 10:00 slot.
    agency = open_page(new_context, console, "demo-agency", password)
    agency.locator(".main-nav").get_by_role("link", name="ヒアリング").click()
    expect(agency).to_have_url(re.compile(r"/hearings/$"))
    expect(agency.get_by_role("link", name="候補を選ぶ")).to_have_count(0)
    agency.get_by_role("link", name=AGENCY_UNIT, exact=True).click()
    expect(agency).to_have_url(re.compile(rf"{hearing_path}$"))
    expect(status_badge(agency)).to_have_text("日程調整中")
    expect(agency.locator("#selection-title")).to_have_count(0)  # the selection reason stays with the center
    expect(agency.get_by_text(comment)).to_have_count(0)
    agency.get_by_role("radio", name=re.compile(r"10:00〜11:00")).check()
    agency.get_by_role("button", name="この日時を選ぶ").click()
    expect(flash(agency, "日時を選びました")).to_be_visible()
    expect(agency.get_by_role("radio", name=re.compile(r"10:00〜11:00"))).to_be_checked()
    timer.lap("agency picks")

    # 5. The center sees the agency's choice pre-checked, confirms it, and downloads the .ics.
    center.goto(hearing_url)
    ten = center.get_by_role("radio", name=re.compile(r"10:00〜11:00"))
    expect(ten).to_be_checked()
    expect(center.get_by_role("radio", name=re.compile(r"14:00〜15:00"))).not_to_be_checked()
    expect(center.locator(".slot").filter(has=ten).locator(".badge--ok")).to_have_text("機関が選択")
    center.get_by_role("button", name="選んだ日時で確定する").click()
    expect(flash(center, "日時を確定しました")).to_be_visible()
    expect(status_badge(center)).to_have_text("確定")
    facts = center.locator("dl.facts").first
    when = facts.locator("div").filter(has=center.locator("dt", has_text="日時")).locator("dd")
    expect(when).to_contain_text(f"{date_ja(day)} 10:00〜11:00（日本時間）")
    expect(facts.locator("div").filter(has=center.locator("dt", has_text="場所・会議情報")).locator("dd")).to_have_text(
        PLACE
    )
    with center.expect_download() as download_info:
        center.get_by_role("link", name="カレンダーに追加（.ics）").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".ics"), download.suggested_filename
    with open(download.path(), encoding="utf-8") as f:
        ics = f.read()
    assert f"DTSTART;TZID=Asia/Tokyo:{day:%Y%m%d}T100000" in ics, ics
    assert f"DTEND;TZID=Asia/Tokyo:{day:%Y%m%d}T110000" in ics, ics
    assert "BEGIN:VTIMEZONE" in ics and "TZID:Asia/Tokyo" in ics, ics
    timer.lap("confirm and ics")

    # 6. The center records the hearing, adds a finding on question 87 and makes it an improvement point.
    center.get_by_label("出席者（センター）").fill("情報 太郎")
    center.get_by_label("出席者（機関）").fill("年金 花子")
    center.get_by_label("議事録").fill(minutes)
    center.get_by_label(re.compile("^センター内部メモ")).fill(memo)
    center.get_by_role("button", name="記録を保存（実施済にする）").click()
    expect(flash(center, "記録を保存しました")).to_be_visible()
    expect(status_badge(center)).to_have_text("実施済")
    record = center.locator("section").filter(has=center.get_by_role("heading", name="記録（未公開）"))
    expect(record).to_contain_text(minutes)
    expect(record).to_contain_text(memo)

    center.get_by_label("設問番号（任意）").fill(str(FINDING_QUESTION))
    center.get_by_label("所見", exact=True).fill(finding_text)
    center.get_by_role("button", name="所見を追加").click()
    expect(flash(center, "所見を追加しました")).to_be_visible()
    finding = center.locator("ul.point-list li").filter(has_text=finding_text)
    expect(finding).to_have_count(1)
    expect(finding).to_contain_text(f"設問{FINDING_QUESTION}：{finding_text}")
    finding.get_by_role("button", name="改善点にする").click()
    expect(flash(center, "改善点（下書き）")).to_be_visible()
    finding = center.locator("ul.point-list li").filter(has_text=finding_text)
    expect(finding.locator(".badge")).to_contain_text("改善点")
    expect(finding.get_by_role("button", name="改善点にする")).to_have_count(0)
    review_link = finding.get_by_role("link", name="（審査画面）")
    expect(review_link).to_have_count(1)
    review_link.click()
    expect(center).to_have_url(re.compile(rf"/review/submissions/{demo_data.submission_id}#points$"))
    draft_findings = center.locator("#points form.point-draft textarea[name=finding]")
    expect(draft_findings).to_have_count(1)
    expect(draft_findings.first).to_have_value(f"【個別ヒアリングでの所見】{finding_text}")
    expect(center.locator("#points form.point-draft .point-draft__title")).to_contain_text(f"設問{FINDING_QUESTION}")
    center.go_back()
    expect(center).to_have_url(hearing_url)
    timer.lap("record and finding")

    # 7. Before the report is published, the agency sees that it was held, but not the minutes.
    agency.reload()
    expect(status_badge(agency)).to_have_text("実施済")
    expect(agency.locator(".notice--info")).to_contain_text("実施済です。センターが報告を公開すると")
    expect(agency.get_by_text(minutes)).to_have_count(0)
    expect(agency.get_by_text(finding_text)).to_have_count(0)
    assert minutes not in agency.content() and memo not in agency.content()

    # 8. The center publishes the report (accepting the confirm dialog).
    center.reload()
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    center.once("dialog", accept)
    center.get_by_role("button", name="報告を公開する").click()
    expect(flash(center, "報告を公開しました")).to_be_visible()
    assert dialogs and "報告を公開すると" in dialogs[0], dialogs
    expect(status_badge(center)).to_have_text("報告済")
    expect(center.get_by_role("heading", name="報告", exact=True)).to_be_visible()
    expect(center.get_by_role("button", name="報告を公開する")).to_have_count(0)
    expect(center.get_by_role("button", name="記録を保存（実施済にする）")).to_have_count(0)
    timer.lap("agency before, publish")

    # 9. The agency sees the minutes and the finding, never the internal memo.
    agency.reload()
    expect(status_badge(agency)).to_have_text("報告済")
    report = agency.locator("section").filter(has=agency.get_by_role("heading", name="報告", exact=True))
    expect(report).to_contain_text(minutes)
    expect(report).to_contain_text(f"設問{FINDING_QUESTION}：{finding_text}")
    expect(agency.get_by_text(memo)).to_have_count(0)
    assert memo not in agency.content()
    expect(agency.get_by_role("button", name="改善点にする")).to_have_count(0)
    expect(agency.get_by_role("link", name="（審査画面）")).to_have_count(0)

    # The ministry sees the same report read-only.
    ministry = open_page(new_context, console, "demo-ministry", password)
    ministry.locator(".main-nav").get_by_role("link", name="ヒアリング").click()
    ministry.get_by_role("link", name=AGENCY_UNIT, exact=True).click()
    expect(ministry).to_have_url(re.compile(rf"{hearing_path}$"))
    expect(status_badge(ministry)).to_have_text("報告済")
    expect(ministry.locator("main")).to_contain_text(minutes)
    expect(ministry.locator("main")).to_contain_text(finding_text)
    assert memo not in ministry.content() and comment not in ministry.content()
    expect(ministry.locator("main form")).to_have_count(0)
    for name in (
        "候補日時を提示",
        "選んだ日時で確定する",
        "この日時を選ぶ",
        "記録を保存（実施済にする）",
        "所見を追加",
        "改善点にする",
        "報告を公開する",
        "中止する",
    ):
        expect(ministry.get_by_role("button", name=name)).to_have_count(0)

    # Another unit's contact cannot even learn that the hearing exists.
    other = open_page(new_context, console, "demo-agency2", password)
    response = other.goto(hearing_path)
    assert response.status == 404, response.status
    assert other.goto(f"{hearing_path}.ics").status == 404
    timer.lap("agency, ministry, other unit")

    # 10. The season calendar of the hearing's month shows it on its day.
    center.goto(f"/hearings/?month={day:%Y-%m}")
    expect(center.locator("#calendar-title")).to_contain_text(f"（{day.year}年{day.month}月）")  # 和暦, then 西暦
    cell = center.locator("table.month-calendar td:not(.other-month)").filter(
        has=center.locator("span.day-number", has_text=re.compile(rf"^{day.day}$"))
    )
    expect(cell).to_have_count(1)
    event = cell.locator("a.event")
    expect(event).to_have_text(f"10:00 {AGENCY_UNIT}（報告済）")
    expect(event).to_have_attribute("href", re.compile(rf"{hearing_path}$"))
    others = center.locator("table.month-calendar a.event")
    expect(others).to_have_count(1)
    timer.lap("calendar")

    # 11. No CSP violation and no script error in any of the contexts.
    assert_no_csp_violations()
    print("\nhearing journey timings (s): " + timer.report())
