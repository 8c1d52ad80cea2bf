"""The agency's self-check journey in a real browser: log in, autosave answers,
conditional questions, the confirmation page, completing and submitting, and
the stale-save refusal across two tabs. Each save is an htmx request under a
strict CSP; the console must stay free of CSP violations throughout."""

import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ANSWER_POST = re.compile(r"/submissions/\d+/answers/\d+$")


class SaveTracker:
    """Counts the autosave responses a page receives."""

    def __init__(self, page):
        self.page = page
        self.statuses = []
        page.on("response", self._on_response)

    def _on_response(self, response):
        if response.request.method == "POST" and ANSWER_POST.search(response.url):
            self.statuses.append(response.status)

    @property
    def count(self):
        return len(self.statuses)

    def wait_for(self, count, timeout=60.0):
        """Wait until ``count`` autosaves have answered and htmx has swapped the last one."""
        deadline = time.monotonic() + timeout
        while self.count < count:
            assert time.monotonic() < deadline, f"only {self.count} of {count} autosaves answered"
            self.page.wait_for_timeout(25)
        self.page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping')")


def login(page, demo):
    page.goto("/login")
    page.get_by_label("ログインID").fill(demo.agency_login)
    page.get_by_label("パスワード").fill(demo.password)
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(re.compile(r"/$"))


def question(page, number):
    return page.locator(f"#q-{number}")


def radio(page, number, value):
    return question(page, number).locator(f"input[type=radio][value='{value}']")


def choose(page, number, value):
    """Click the label of one answer and wait for its autosave to answer."""
    label = question(page, number).locator("label.choice").filter(has=page.locator(f"input[value='{value}']"))
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith(f"/answers/{number}")
    ) as response:
        label.click()
    expect(radio(page, number, value)).to_be_checked()
    return response.value


def save_state(page, number):
    return question(page, number).locator(".save-state")


def total_progress(page):
    return page.locator("#progress-total .progress__text")


def read_progress(page):
    answered, applicable = (int(part) for part in total_progress(page).inner_text().split("/"))
    return answered, applicable


def expect_off(page, number, waiting_for=None):
    """Switched off: 該当なし, or (its controlling question unanswered) waiting for that answer."""
    fieldset = question(page, number)
    # Playwright's to_be_disabled() ignores <fieldset>; check the attribute itself.
    expect(page.locator(f"fieldset#q-{number}[disabled]")).to_have_count(1)
    expect(fieldset).to_have_class(re.compile(r"\bquestion--off\b"))
    note = f"設問{waiting_for}に回答すると表示されます" if waiting_for else "該当なし"
    expect(fieldset.locator(".off-note")).to_contain_text(note)
    expect(fieldset.locator("input[type=radio]")).to_have_count(0)


def expect_on(page, number):
    fieldset = question(page, number)
    expect(page.locator(f"fieldset#q-{number}:not([disabled])")).to_have_count(1)
    expect(fieldset).not_to_have_class(re.compile(r"\bquestion--off\b"))
    expect(fieldset.locator("input[type=radio]")).not_to_have_count(0)
    expect(fieldset.locator(".off-note")).to_have_count(0)


def open_category(page, code):
    """Go to one 大分類's page from the list of them (each is a page of its own)."""
    nav = page.get_by_role("navigation", name="大分類の選択")
    nav.get_by_role("link", name=re.compile(rf"^{code}\. ")).click()
    expect(page).to_have_url(re.compile(rf"\?cat={code}$"))
    expect(nav.locator("a[aria-current=page]")).to_have_text(re.compile(rf"^{code}\. "))
    expect(page.locator("section.category")).to_have_count(1)
    page.wait_for_function("() => window.htmx !== undefined")


def answer_everything_with_3(page, tracker):
    """Click 3 on every enabled question that is not yet 3, until none is left.

    Answers can switch further questions on (設問21, 69, 86), which htmx swaps in
    out of band, so this repeats until a pass finds nothing to click."""
    todo = page.locator(
        "fieldset.question:not([disabled]):not(:has(input[type=radio][value='3']:checked)) input[type=radio][value='3']"
    )
    baseline = tracker.count
    clicks = 0
    for _ in range(10):
        tracker.wait_for(baseline + clicks)  # let what is in flight settle
        if todo.count() == 0:
            break
        while todo.count():
            todo.first.click()
            clicks += 1
    else:
        pytest.fail("questions kept appearing after 10 passes")
    return clicks


def test_agency_answers_and_submits_the_self_check(page, demo_data, assert_no_csp_violations):
    started = time.monotonic()
    timings = {}
    tracker = SaveTracker(page)

    # 1. Log in, see the cycle on the home page and open it.
    login(page, demo_data)
    card = page.locator("section.cycle-card").first  # this year as a card; earlier years in a table below
    expect(card.get_by_role("heading", level=2)).to_contain_text("令和8年度")
    expect(page.get_by_role("region", name="過去の自己点検")).to_contain_text("令和7年度")
    with page.expect_response(re.compile(rf"/submissions/{demo_data.submission_id}$")) as opened:
        card.get_by_role("link", name="回答する").click()
    expect(page).to_have_url(re.compile(rf"/submissions/{demo_data.submission_id}$"))
    # The CSP is in force, so "no violations" below means something.
    assert "script-src 'self'" in opened.value.headers["content-security-policy"]
    expect(page.get_by_role("heading", level=1)).to_contain_text("自己点検")
    page.wait_for_function("() => window.htmx !== undefined")
    answered0, applicable0 = read_progress(page)
    assert answered0 == 0 and applicable0 > 0

    # 2. Answer a few questions; each one says it is saved and the counts follow.
    for count, (number, value) in enumerate([(1, 3), (2, 2), (3, 1)], start=1):
        response = choose(page, number, value)
        assert response.status == 200
        expect(save_state(page, number)).to_contain_text("保存しました")
        expect(total_progress(page)).to_have_text(f"{count} / {applicable0}")
    expect(page.locator("#progress-cat-1")).to_have_text(re.compile(r"^3 / \d+$"))
    expect(page.locator("#nav-progress-1")).to_have_text(re.compile(r"^3 / \d+$"))

    page.reload()
    for number, value in [(1, 3), (2, 2), (3, 1)]:
        expect(radio(page, number, value)).to_be_checked()
        expect(save_state(page, number)).to_have_text("保存済み")
    expect(total_progress(page)).to_have_text(f"3 / {applicable0}")
    timings["answer a few"] = time.monotonic() - started

    # 3. Each 大分類 is a page; a controlling answer switches questions on and off without a reload.
    expect(page.locator("section.category")).to_have_count(1)  # the first 大分類 with questions left
    expect(question(page, 86)).to_have_count(0)
    open_category(page, "8")
    expect(total_progress(page)).to_have_text(f"3 / {applicable0}")
    page.evaluate("() => { window.__sameDocument = true; }")
    expect_off(page, 87, waiting_for=86)  # 設問86 is unanswered: the 委託先の管理 questions wait for it
    choose(page, 86, 3)
    expect_on(page, 87)
    expect_on(page, 88)
    answered, applicable_with_86 = read_progress(page)
    assert answered == 4 and applicable_with_86 > applicable0

    choose(page, 86, 0)
    expect_off(page, 87)
    expect_off(page, 88)
    expect(question(page, 87).locator(".off-note")).to_contain_text("設問86で「0」以外を回答した場合")
    expect(total_progress(page)).to_have_text(f"4 / {applicable0}")  # 0 counts as an answer

    choose(page, 86, 3)
    expect_on(page, 87)
    expect(save_state(page, 87)).to_have_text("")
    # The swapped-in question autosaves like the others.
    choose(page, 87, 3)
    expect(save_state(page, 87)).to_contain_text("保存しました")

    assert page.evaluate("() => window.__sameDocument === true"), "the page was reloaded"
    expect(page.locator("#nav-progress-8")).to_have_text(re.compile(r"^2 / \d+$"))  # the list follows the saves

    # 設問21 chooses between 4.2 (専用の室) and 4.3.1 (事務室).
    open_category(page, "4")
    page.evaluate("() => { window.__sameDocument = true; }")
    choose(page, 21, 0)
    expect_off(page, 22)
    expect_on(page, 29)
    choose(page, 21, 3)
    expect_on(page, 22)
    expect_off(page, 29)
    assert page.evaluate("() => window.__sameDocument === true"), "the page was reloaded"
    timings["conditions"] = time.monotonic() - started

    # 4. The confirmation page lists what is missing, links to it and offers no submit.
    page.get_by_role("link", name="提出の確認へ進む").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("提出の確認")
    missing = page.locator("ul.missing-list li")
    expect(page.get_by_role("heading", name=re.compile(r"未回答の設問（\d+問）"))).to_be_visible()
    applicable, answered = (
        int(x) for x in re.search(r"該当する設問 (\d+)問のうち (\d+)問", page.locator("main").inner_text()).groups()
    )
    expect(missing).to_have_count(applicable - answered)
    expect(page.get_by_role("button", name="提出する")).to_have_count(0)
    expect(missing.get_by_role("link", name="設問1", exact=True)).to_have_count(0)  # answered
    far_link = missing.get_by_role("link", name="設問125", exact=True)
    expect(far_link).to_be_visible()
    far_link.click()
    expect(page).to_have_url(re.compile(rf"/submissions/{demo_data.submission_id}\?cat=\d+#q-125$"))  # its 大分類
    expect(question(page, 125)).to_be_in_viewport()
    expect(page.locator("#q-125:target")).to_have_count(1)
    page.wait_for_function("() => window.htmx !== undefined")
    timings["confirmation"] = time.monotonic() - started

    # 5. Answer every applicable question with 3, on the page that shows every 大分類.
    page.get_by_role("link", name=re.compile("すべての大分類を表示")).click()
    expect(page.locator("section.category")).to_have_count(10)
    page.wait_for_function("() => window.htmx !== undefined")
    bulk_started = time.monotonic()
    clicks = answer_everything_with_3(page, tracker)
    assert all(status == 200 for status in tracker.statuses), tracker.statuses
    answered, applicable = read_progress(page)
    assert answered == applicable, (answered, applicable)
    expect(page.locator("fieldset.question:not([disabled]) .save-state__error")).to_have_count(0)
    timings[f"bulk answer ({clicks} clicks)"] = time.monotonic() - bulk_started

    page.reload()
    expect(total_progress(page)).to_have_text(f"{applicable} / {applicable}")

    # 6. Submit from the confirmation page; the result is shown read-only with its scores.
    page.get_by_role("link", name="提出の確認へ進む").click()
    expect(page.locator("ul.missing-list")).to_have_count(0)
    expect(page.get_by_role("heading", name="提出してよろしいですか")).to_be_visible()
    page.get_by_role("button", name="提出する").click()
    expect(page).to_have_url(re.compile(rf"/submissions/{demo_data.submission_id}$"))
    expect(page.get_by_role("status").filter(has_text="提出しました")).to_be_visible()
    scores = page.get_by_role("region", name=re.compile("点検結果"))
    expect(scores).to_be_visible()
    facts = scores.locator("dl.facts")
    expect(facts.locator("div").filter(has_text="総合平均点").locator("dd")).to_contain_text("3.00")
    expect(facts.locator("div").filter(has_text="満点率").locator("dd")).to_contain_text("100.0%")
    expect(facts.locator("div").filter(has_text="今年度の重要点検項目").locator("dd")).to_contain_text("達成")
    expect(facts.locator("div").filter(has_text="今年度の重要点検項目").locator("dd")).not_to_contain_text("未達成")
    expect(facts.locator("div").filter(has_text="過年度の重要点検項目").locator("dd")).not_to_contain_text("未維持")
    expect(page.locator("input[type=radio]")).to_have_count(0)
    expect(page.locator("textarea")).to_have_count(0)
    expect(page.get_by_role("link", name="提出の確認へ進む")).to_have_count(0)
    expect(page.get_by_role("button", name="入力内容を保存")).to_have_count(0)
    expect(question(page, 1).locator(".answer-readonly")).to_contain_text("3 実施している")
    timings["total"] = time.monotonic() - started

    assert_no_csp_violations()
    print("\njourney timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


def test_two_tabs_save_different_questions_and_only_the_same_answer_is_a_conflict(
    page, context, demo_data, assert_no_csp_violations
):
    login(page, demo_data)
    url = f"/submissions/{demo_data.submission_id}"
    first = page
    first.goto(url)
    second = context.new_page()
    second.goto(url)
    for tab in (first, second):
        tab.wait_for_function("() => window.htmx !== undefined")

    assert choose(first, 1, 3).status == 200
    expect(save_state(first, 1)).to_contain_text("保存しました")
    # Another question in the older tab: saved, nobody refused.
    assert choose(second, 2, 2).status == 200
    expect(save_state(second, 2)).to_contain_text("保存しました")

    # The same question in the older tab: refused, saying who set it to what; the choice stays on screen.
    response = choose(second, 1, 1)
    assert response.status == 409
    error = save_state(second, 1).locator(".save-state__error")
    expect(error).to_contain_text("さんが")
    expect(error).to_contain_text("「3 ")
    expect(radio(second, 1, 1)).to_be_checked()
    first.reload()
    expect(radio(first, 1, 3)).to_be_checked()  # not overwritten

    # Choosing again, having read the message, overwrites on purpose.
    radio(second, 1, 3).check()
    assert choose(second, 1, 1).status == 200
    first.reload()
    expect(radio(first, 1, 1)).to_be_checked()
    expect(radio(first, 2, 2)).to_be_checked()
    assert_no_csp_violations()


def test_the_console_watch_sees_a_csp_violation(page, console, demo_data):
    """Guards the guard: an inline script on an app page is refused and reported."""
    page.goto("/login")
    page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.__inline = true";
        document.body.appendChild(s);
    }""")
    page.wait_for_timeout(100)
    assert page.evaluate("() => window.__inline") is None
    assert console.csp_violations(), console.messages
    with pytest.raises(AssertionError, match="CSP violations"):
        console.assert_clean()
