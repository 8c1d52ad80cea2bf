"""The revision journey in a real browser: the center opens the per-question statistics and flags two
questions as revision candidates, drafts next year's version from the current one, rewords a question,
splits one and adds one, reviews the mapping the draft proposed and the 新旧対照表 (on screen and in print),
publishes the draft and opens next year's cycle with it. One console watch: no CSP violation anywhere."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from agencyapp.extensions import db
from tests.browser.test_journey_review import flash, log_in

pytestmark = pytest.mark.browser

NEXT_YEAR = 2027
CODE = "national-r9"
REWORDED = "（年1回以上、記録を残して）"
SPLIT_TEXT = "外部記憶媒体の持ち出しを記録している。"
ADDED_TEXT = "生成AIサービスへの本人確認情報の入力を禁止している。"


def _keys(app, code, numbers):
    """The permanent keys of the version's questions with these 設問番号 (the rows' ids on the page)."""
    from agencyapp.models import ChecklistVersion
    from agencyapp.services.checklists import load_structure

    with app.app_context():
        version = db.session.scalar(select(ChecklistVersion).where(ChecklistVersion.code == code))
        structure = load_structure(version)
        keys = [structure.by_number[n].key for n in numbers]
        goal = structure.goals_by_number[structure.by_number[numbers[0]].goal_number].goal.key if numbers else None
        version_id = version.id
        db.session.remove()
    return keys, goal, version_id


def _cycle_id(app, fiscal_year):
    from agencyapp.models import Cycle

    with app.app_context():
        found = db.session.scalar(select(Cycle.id).where(Cycle.fiscal_year == fiscal_year))
        db.session.remove()
    return found


def _edit_row(page, key):
    """Open the 編集 panel of one goal or item of the draft (after a refused edit it is open already)."""
    row = page.locator(f"#e-{key} > details.draft-row")
    if row.get_attribute("open") is None:
        row.locator("summary").click()
    return row


def test_center_revises_the_checklist_and_opens_next_year_with_it(page, app, demo_data, assert_no_csp_violations):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    log_in(page, "demo-center", demo_data.password)

    # 1. The statistics: last year's cycle (every self-check accepted), two questions flagged.
    page.get_by_role("link", name="チェックリスト改訂").first.click()
    page.get_by_role("link", name="設問別の集計を見る").click()
    expect(page.get_by_role("heading", name="設問別の集計", level=1)).to_be_visible()
    page.get_by_label("年度点検").select_option(value=str(_cycle_id(app, NEXT_YEAR - 2)))
    page.get_by_role("button", name="表示").click()
    expect(page.locator("table.stats-table tbody tr").first).to_be_visible()
    expect(page.locator("svg").first).to_be_visible()  # the chart, with its data table beside it
    for number, reason in ((1, "全機関が3点で差が出ない：基準を具体化する"), (2, "備考に解釈の質問が多い")):
        row = page.locator(f"#q-{number}")
        row.locator("summary").click()
        row.get_by_label("理由").fill(reason)
        row.get_by_role("button", name="改訂候補にする").click()
        expect(flash(page, f"設問{number}を改訂候補にしました。")).to_be_visible()
        expect(page.locator(f"#q-{number}")).to_contain_text(reason)
    page.get_by_label("条件").select_option(label="改訂候補")
    page.get_by_role("button", name="表示").click()
    expect(page.locator("table.stats-table tbody tr")).to_have_count(2)

    # 2. A draft of next year's version, copied from the current one.
    page.get_by_role("link", name="チェックリスト改訂").first.click()
    page.get_by_label("新しい版のコード").fill(CODE)
    page.get_by_label("対象年度（西暦）").fill(str(NEXT_YEAR))
    page.get_by_role("button", name="改訂案を作成する").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".badge").filter(has_text="作成中").first).to_be_visible()
    (reworded, split), goal, _ = _keys(app, CODE, (3, 4))

    # 3. Reword one, split one, add one; a bad edit is refused with the loader's message.
    row = _edit_row(page, reworded)
    text = row.get_by_label("本文", exact=True)
    original = text.input_value()
    text.fill("   ")
    row.get_by_role("button", name="本文を保存").click()
    expect(page.locator("#problems")).to_contain_text("本文 (text) がありません")
    row = _edit_row(page, reworded)
    row.get_by_label("本文", exact=True).fill(original + REWORDED)
    row.get_by_role("button", name="本文を保存").click()
    expect(page.locator(f"#e-{reworded}")).to_contain_text(REWORDED)
    row = _edit_row(page, split)
    row.get_by_label("分割：後に加える設問の本文").fill(SPLIT_TEXT)
    row.get_by_role("button", name="分割する").click()
    expect(page.locator(f"xpath=//ul[contains(@class,'draft-items')]/li[contains(., '{SPLIT_TEXT}')]")).to_have_count(1)
    row = _edit_row(page, goal)
    row.get_by_label("小項目を追加：本文").fill(ADDED_TEXT)
    row.get_by_role("button", name="小項目を追加").click()
    expect(page.locator(f"xpath=//ul[contains(@class,'draft-items')]/li[contains(., '{ADDED_TEXT}')]")).to_have_count(1)

    # 4. The mapping the draft proposed: nothing left undecided, each change named.
    page.get_by_role("link", name=re.compile("^新旧対応")).click()
    expect(page.get_by_role("heading", name=re.compile("新旧対応"))).to_be_visible()
    expect(page.locator("main")).to_contain_text("未決定：0問")
    table = page.locator("table.mapping-table")
    expect(table.locator(f"#m-{reworded}")).to_contain_text("文言修正")
    expect(table.locator(f"#m-{split}")).to_contain_text("分割")
    expect(table.locator("tr").filter(has_text=ADDED_TEXT)).to_contain_text("新設")

    # 5. The 新旧対照表, and its print layout with the approval boxes.
    page.get_by_role("link", name=CODE).click()
    page.get_by_role("link", name="新旧対照表").click()
    expect(page.locator("ins.diff-new").filter(has_text=REWORDED)).to_be_visible()
    for kind in ("文言修正", "分割", "新設"):
        expect(page.locator("table.comparison-table")).to_contain_text(kind)
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel（.xlsx）をダウンロード").click()
    assert download.value.suggested_filename == f"comparison-{CODE}.xlsx"
    page.emulate_media(media="print")
    expect(page.locator("table.approval-boxes")).to_be_visible()
    expect(page.locator("nav.breadcrumbs")).to_be_hidden()
    page.emulate_media(media="screen")

    # 6. Publish (the confirmation box is required), then open next year's cycle with the new version.
    page.locator("nav.breadcrumbs").get_by_role("link", name=CODE).click()
    publish = page.locator("#publish")
    publish.get_by_role("button").click()
    expect(page.get_by_role("alert").first).to_be_visible()  # not confirmed: nothing published
    page.locator("#publish").get_by_label(re.compile("公開すると")).check()
    page.locator("#publish").get_by_role("button").click()
    expect(flash(page, "公開")).to_be_visible()
    expect(page.locator(".badge").filter(has_text="公開").first).to_be_visible()

    page.goto("/cycles/new")
    page.locator("#version_id").select_option(value=str(_keys(app, CODE, ())[2]))
    page.get_by_role("button", name="重要点検項目の選択肢を更新").click()
    page.get_by_label("年度（西暦）").fill(str(NEXT_YEAR))
    page.get_by_label("開始日").fill(f"{NEXT_YEAR}-10-01")
    page.get_by_label("提出期限").fill(f"{NEXT_YEAR + 1}-01-29")
    page.get_by_role("button", name="開始する").click()
    expect(flash(page, "開始")).to_be_visible()
    assert any("年度点検を開始します" in message for message in dialogs)

    from agencyapp.models import ChecklistVersion, Cycle

    with app.app_context():
        cycle = db.session.scalar(select(Cycle).where(Cycle.fiscal_year == NEXT_YEAR))
        assert cycle is not None and cycle.version.code == CODE
        assert db.session.scalar(select(ChecklistVersion.status).where(ChecklistVersion.code == CODE)) == "published"
        db.session.remove()
    assert_no_csp_violations()
