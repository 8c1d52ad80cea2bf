"""Center review and the improvement loop: every transition and refusal, scope, statements, mail."""

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from agencyapp.models import (
    Answer,
    AuditEvent,
    CenterAssessment,
    ChecklistQuestion,
    ImprovementPoint,
    ImprovementRequest,
    Notification,
    PointEvent,
    Submission,
    SubmissionSnapshot,
)
from agencyapp.services import DomainError, StaleError, review
from agencyapp.services import improvements as points
from agencyapp.services.checklists import load_structure
from agencyapp.services.selfcheck import load_state, save_all, submit
from tests import factories
from tests.factories import PASSWORD, act
from tests.test_selfcheck import all_threes

LOW, DEPENDENT = 1, 87  # Q1 answered 1; Q87 (委託先の管理, important) answered 2


def reload(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def submit_answers(user, submission, overrides=None):
    form = all_threes(submission)
    form.update({f"answer-{LOW}": "1", f"answer-{DEPENDENT}": "2"})
    form.update(overrides or {})
    act(save_all, user, submission, form, submission.lock_version)
    act(submit, user, submission, submission.lock_version)
    return reload(Submission, submission.id)


@pytest.fixture
def submitted(ctx, world):
    """World with agency A's and agency B's self-checks submitted."""
    world.submission_a = submit_answers(world.agency, world.submission_a)
    world.submission_b = submit_answers(world.agency_b, world.submission_b)
    return world


def issue(world, due=None, submission=None, user=None):
    submission = submission or world.submission_a
    act(points.suggest_points, world.center, submission)
    ids = [
        p.id
        for p in db.session.scalars(
            select(ImprovementPoint).where(
                ImprovementPoint.submission_id == submission.id, ImprovementPoint.status == "draft"
            )
        )
    ]
    return act(points.issue_request, user or world.center, submission, ids, due or today_tokyo() + timedelta(days=30))


def signed_in(make_web, login_id):
    web = make_web()
    web.login(login_id, PASSWORD)
    return web


# --- submission: return, accept, snapshots -----------------------------------------------


def test_submit_copies_scores_to_the_submission_for_the_queue(submitted):
    sub = submitted.submission_a
    assert sub.score_mean is not None and sub.score_mean < 3
    assert sub.important_met is False


def test_return_needs_a_reason_and_lets_the_agency_edit_and_resubmit(submitted):
    sub = submitted.submission_a
    with pytest.raises(DomainError, match="理由"):
        act(review.return_submission, submitted.center, sub, "  ", sub.lock_version)
    act(review.return_submission, submitted.center, sub, "設問1の根拠を確認してください", sub.lock_version)
    sub = reload(Submission, sub.id)
    assert sub.status == "returned" and sub.return_reason.startswith("設問1")
    act(save_all, submitted.agency, sub, {"answer-1": "3"}, sub.lock_version)
    act(submit, submitted.agency, sub, sub.lock_version)
    sub = reload(Submission, sub.id)
    assert sub.status == "submitted"
    snapshots, changes = review.snapshot_changes(sub)
    assert [s.sequence for s in snapshots] == [2, 1]
    assert changes == [{"question": 1, "old_value": 1, "new_value": 3, "old_note": "", "new_note": ""}]
    assert (
        db.session.scalar(
            select(func.count()).select_from(SubmissionSnapshot).where(SubmissionSnapshot.submission_id == sub.id)
        )
        == 2
    )


def test_accept_only_a_submitted_self_check(submitted, world):
    sub = submitted.submission_a
    act(review.accept_submission, submitted.center, sub, sub.lock_version)
    sub = reload(Submission, sub.id)
    assert sub.status == "accepted" and sub.reviewed_by_id == submitted.center.id
    with pytest.raises(DomainError, match="確認済にできません"):
        act(review.accept_submission, submitted.center, sub, sub.lock_version)
    with pytest.raises(DomainError, match="差し戻せません"):
        act(review.return_submission, submitted.center, sub, "理由", sub.lock_version)
    draft = world.submission_a2
    with pytest.raises(DomainError):
        act(review.accept_submission, submitted.center, draft, draft.lock_version)


def test_stale_return_is_refused(submitted):
    sub = submitted.submission_a
    with pytest.raises(StaleError):
        act(review.return_submission, submitted.center, sub, "理由", sub.lock_version - 1)
    assert reload(Submission, sub.id).status == "submitted"


def test_agency_is_notified_of_return_and_accept(submitted):
    sub = submitted.submission_a
    act(review.return_submission, submitted.center, sub, "再確認", sub.lock_version)
    kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == submitted.agency.id)).all()
    assert kinds == ["submission_returned"]
    assert not db.session.scalars(select(Notification).where(Notification.user_id == submitted.agency_b.id)).all()


# --- validated scores and notes ----------------------------------------------------------


def test_center_assessment_needs_a_reason_and_never_changes_the_answer(submitted):
    sub = submitted.submission_a
    with pytest.raises(DomainError, match="理由"):
        act(review.set_assessment, submitted.center, sub, 2, "1", "")
    act(review.set_assessment, submitted.center, sub, 2, "1", "操作履歴の点検記録がない")
    answer = db.session.scalar(
        select(Answer.value)
        .join(ChecklistQuestion)
        .where(Answer.submission_id == sub.id, ChecklistQuestion.number == 2)
    )
    assert answer == 3
    from agencyapp.services.selfcheck import load_state

    state = load_state(sub)
    validated = review.validated_scores(state, review.assessments(sub))
    assert validated.overall.mean < state.scores().overall.mean
    act(review.set_assessment, submitted.center, sub, 2, "3", "")  # same as the agency: removed
    assert review.assessments(sub) == {}


def test_assessment_value_outside_the_scale_is_refused(submitted):
    with pytest.raises(DomainError):
        act(review.set_assessment, submitted.center, submitted.submission_a, 2, "7", "理由")
    assert db.session.scalar(select(func.count()).select_from(CenterAssessment)) == 0


# --- drafts and suggestions --------------------------------------------------------------


def test_suggestions_cover_ones_and_important_items_below_three_and_issue_nothing(submitted):
    created = act(points.suggest_points, submitted.center, submitted.submission_a)
    rows = db.session.scalars(
        select(ImprovementPoint).where(ImprovementPoint.submission_id == submitted.submission_a.id)
    ).all()
    numbers = sorted(db.session.get(ChecklistQuestion, p.question_id).number for p in rows)
    assert created == 2 and numbers == [LOW, DEPENDENT]
    assert {p.status for p in rows} == {"draft"} and all(p.request_id is None for p in rows)
    assert "設問1「" in rows[0].finding or "設問1「" in rows[1].finding
    assert act(points.suggest_points, submitted.center, submitted.submission_a) == 0  # no duplicates


def test_drafts_can_be_added_edited_and_deleted_but_not_after_issue(submitted):
    sub = submitted.submission_a
    point = act(points.add_point, submitted.center, sub, 5, "手順書の改訂日が古い", "改訂してください")
    point = act(points.edit_point, submitted.center, point, "手順書が3年改訂されていない", "", point.lock_version)
    assert reload(ImprovementPoint, point.id).finding == "手順書が3年改訂されていない"
    with pytest.raises(StaleError):
        act(points.edit_point, submitted.center, point, "古い画面から", "", point.lock_version - 1)
    with pytest.raises(DomainError, match="指摘事項を入力"):
        act(points.add_point, submitted.center, sub, 5, "   ", "")
    with pytest.raises(DomainError, match="設問番号 999"):
        act(points.add_point, submitted.center, sub, 999, "存在しない設問", "")
    act(points.issue_request, submitted.center, sub, [point.id], today_tokyo() + timedelta(days=10))
    point = reload(ImprovementPoint, point.id)
    with pytest.raises(DomainError, match="依頼済み"):
        act(points.edit_point, submitted.center, point, "変更", "", point.lock_version)
    with pytest.raises(DomainError, match="依頼済み"):
        act(points.delete_point, submitted.center, point, point.lock_version)
    other = act(points.add_point, submitted.center, sub, None, "全体への指摘", "")
    act(points.delete_point, submitted.center, other, other.lock_version)
    assert reload(ImprovementPoint, other.id) is None


# --- issue --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ids, due, message",
    [
        ([], 30, "1つ以上"),
        (None, 0, "明日以降"),
        (None, -5, "明日以降"),
    ],
)
def test_issue_refuses_no_points_and_past_due_dates(submitted, ids, due, message):
    sub = submitted.submission_a
    act(points.suggest_points, submitted.center, sub)
    drafts = [p.id for p in db.session.scalars(select(ImprovementPoint))]
    with pytest.raises(DomainError, match=message):
        act(
            points.issue_request,
            submitted.center,
            sub,
            drafts if ids is None else ids,
            today_tokyo() + timedelta(days=due),
        )
    assert db.session.scalar(select(func.count()).select_from(ImprovementRequest)) == 0
    assert {p.status for p in db.session.scalars(select(ImprovementPoint))} == {"draft"}


def test_issue_refuses_points_of_another_submission_and_double_submission(submitted):
    act(points.suggest_points, submitted.center, submitted.submission_b)
    foreign = [p.id for p in db.session.scalars(select(ImprovementPoint))]
    with pytest.raises(DomainError, match="見つからないか"):
        act(points.issue_request, submitted.center, submitted.submission_a, foreign, today_tokyo() + timedelta(days=9))
    request_row = issue(submitted)
    ids = [p.id for p in request_row.points]
    with pytest.raises(DomainError, match="既に依頼済み"):
        act(points.issue_request, submitted.center, submitted.submission_a, ids, today_tokyo() + timedelta(days=9))
    assert db.session.scalar(select(func.count()).select_from(ImprovementRequest)) == 1


def test_issue_makes_points_visible_and_notifies_agency_and_its_ministry(submitted):
    request_row = issue(submitted)
    assert {p.status for p in request_row.points} == {"issued"}
    notified = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "request_issued")))
    assert notified == {submitted.agency.id, submitted.ministry_user.id}
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "request.issued")).actor_id
        == submitted.center.id
    )
    events = db.session.scalars(select(PointEvent.kind)).all()
    assert events == ["issued", "issued"]


# --- answer, return, close ------------------------------------------------------------------


class Upload:
    def __init__(self, data, filename):
        from werkzeug.datastructures import FileStorage

        self.storage = FileStorage(stream=io.BytesIO(data), filename=filename)


def test_agency_plan_then_return_then_report_then_close(submitted, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tmp_path))
    point = issue(submitted).points[0]
    with pytest.raises(DomainError, match="改善計画"):
        act(points.answer_point, submitted.agency, point, "", date(2027, 3, 31), "", None, point.lock_version)
    with pytest.raises(DomainError, match="完了予定日"):
        act(points.answer_point, submitted.agency, point, "規程を改正する", None, "", None, point.lock_version)
    pdf = Upload(b"%PDF-1.4\n%%EOF\n", "計画書.pdf").storage
    act(points.answer_point, submitted.agency, point, "規程を改正する", date(2027, 3, 31), "", pdf, point.lock_version)
    point = reload(ImprovementPoint, point.id)
    assert point.status == "answered" and len(list(tmp_path.iterdir())) == 1
    with pytest.raises(DomainError, match="完了報告がまだない"):
        act(points.close_point, submitted.center, point, "", point.lock_version)
    with pytest.raises(DomainError, match="コメント"):
        act(points.return_point, submitted.center, point, "", point.lock_version)
    act(
        points.return_point,
        submitted.center,
        point,
        "計画を確認しました。完了後に報告してください。",
        point.lock_version,
    )
    point = reload(ImprovementPoint, point.id)
    assert point.status == "issued" and point.center_comment.startswith("計画を確認")
    act(
        points.answer_point,
        submitted.agency,
        point,
        "規程を改正する",
        date(2027, 3, 31),
        "改正規程を施行した",
        None,
        point.lock_version,
    )
    point = reload(ImprovementPoint, point.id)
    act(points.close_point, submitted.center, point, "確認しました", point.lock_version)
    point = reload(ImprovementPoint, point.id)
    assert point.status == "closed"
    assert [e.kind for e in points.point_history(point)] == ["issued", "answered", "returned", "answered", "closed"]
    kinds = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == submitted.agency.id).order_by(Notification.id)
    ).all()
    assert kinds == ["request_issued", "point_returned", "point_closed"]
    assert db.session.scalars(select(Notification.kind).where(Notification.user_id == submitted.center.id)).all() == [
        "point_answered",
        "point_answered",
    ]


def test_double_answer_and_answers_to_closed_points_are_refused(submitted, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tmp_path))
    point = issue(submitted).points[0]
    version = point.lock_version
    act(points.answer_point, submitted.agency, point, "計画", date(2027, 3, 31), "", None, version)
    point = reload(ImprovementPoint, point.id)
    with pytest.raises(StaleError):
        act(points.answer_point, submitted.agency, point, "計画（二重送信）", date(2027, 3, 31), "", None, version)
    with pytest.raises(DomainError, match="回答できません"):
        act(points.answer_point, submitted.agency, point, "計画", date(2027, 3, 31), "", None, point.lock_version)


@pytest.mark.parametrize(
    "data, name",
    [
        (b"<html><script>alert(1)</script></html>", "report.pdf"),
        (b"MZ\x90\x00" + b"\x00" * 100, "plan.docx"),
    ],
)
def test_disguised_attachment_is_refused_and_nothing_changes(submitted, app, tmp_path, monkeypatch, data, name):
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tmp_path))
    point = issue(submitted).points[0]
    with pytest.raises(DomainError, match="添付できません|種類"):
        act(
            points.answer_point,
            submitted.agency,
            point,
            "計画",
            date(2027, 3, 31),
            "",
            Upload(data, name).storage,
            point.lock_version,
        )
    point = reload(ImprovementPoint, point.id)
    assert point.status == "issued" and point.plan == ""
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


def test_oversized_attachment_is_refused(submitted, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1024)
    point = issue(submitted).points[0]
    with pytest.raises(DomainError, match="大きすぎ"):
        act(
            points.answer_point,
            submitted.agency,
            point,
            "計画",
            date(2027, 3, 31),
            "",
            Upload(b"%PDF-1.4\n" + b"0" * 2048, "big.pdf").storage,
            point.lock_version,
        )
    assert reload(ImprovementPoint, point.id).status == "issued"


# --- HTTP: scope ----------------------------------------------------------------------------


def test_agency_never_sees_drafts_or_another_units_points(submitted, make_web):
    request_row = issue(submitted)
    draft = act(points.add_point, submitted.center, submitted.submission_a, 4, "下書きの指摘（非公開）", "")
    other = issue(submitted, submission=submitted.submission_b).points[0]
    web = signed_in(make_web, "agency-a")
    listing = web.get("/improvements/").get_data(as_text=True)
    assert "下書きの指摘" not in listing and "旅券" not in listing
    assert all(f"/improvements/points/{p.id}" in listing for p in request_row.points)
    assert web.get(f"/improvements/points/{draft.id}").status_code == 404
    assert web.get(f"/improvements/points/{other.id}").status_code == 404
    assert web.get(f"/improvements/requests/{other.request_id}").status_code == 404
    response = web.post(
        f"/improvements/points/{other.id}/answer",
        {"plan": "x", "plan_due_on": "2027-03-31", "lock_version": other.lock_version},
    )
    assert response.status_code == 404
    assert reload(ImprovementPoint, other.id).status == "issued"
    assert web.get(f"/review/submissions/{submitted.submission_a.id}").status_code == 403


def test_ministry_sees_issued_points_of_its_units_only(submitted, make_web):
    own = issue(submitted).points[0]
    draft = act(points.add_point, submitted.center, submitted.submission_a, 4, "下書きの指摘（非公開）", "")
    foreign = issue(submitted, submission=submitted.submission_b).points[0]
    web = signed_in(make_web, "ministry-a")
    listing = web.get("/improvements/").get_data(as_text=True)
    assert f"/improvements/points/{own.id}" in listing and "下書きの指摘" not in listing
    assert web.get(f"/improvements/points/{own.id}").status_code == 200
    assert web.get(f"/improvements/points/{draft.id}").status_code == 404
    assert web.get(f"/improvements/points/{foreign.id}").status_code == 404
    assert "回答を送信" not in web.get(f"/improvements/points/{own.id}").get_data(as_text=True)


def test_the_list_shows_a_years_points_and_earlier_open_ones_or_every_year(submitted, make_web):
    """Flat in years: by default this year's points and those still open from earlier years; 「すべての年度」 all."""
    last_year = factories.make_cycle([submitted.unit_a], fiscal_year=2025)
    old = submit_answers(submitted.agency, factories.submission_of(last_year, submitted.unit_a))
    due = today_tokyo() + timedelta(days=3)
    carried, done = (
        act(
            points.issue_request,
            submitted.center,
            old,
            [act(points.add_point, submitted.center, old, n, text, "").id],
            due,
        ).points[0]
        for n, text in ((2, "昨年度から継続CARRY"), (3, "昨年度に完了DONE"))
    )
    act(points.answer_point, submitted.agency, done, "計画", due, "完了しました", None, done.lock_version)
    db.session.refresh(done)
    act(points.close_point, submitted.center, done, "", done.lock_version)
    this_year = issue(submitted).points[0]
    web = signed_in(make_web, "center")
    listing = web.get("/improvements/").get_data(as_text=True)
    assert "継続CARRY" in listing and "完了DONE" not in listing and f"/improvements/points/{this_year.id}" in listing
    assert "完了DONE" in web.get("/improvements/?cycle=all").get_data(as_text=True)
    earlier = web.get(f"/improvements/?cycle={last_year.id}").get_data(as_text=True)
    assert "完了DONE" in earlier and "継続CARRY" in earlier and f"/improvements/points/{this_year.id}" not in earlier
    assert carried.status == "issued"
    assert web.get("/improvements/?cycle=999999").status_code == 404


def test_internal_notes_never_reach_agency_or_ministry_pages(submitted, make_web):
    act(review.add_note, submitted.center, submitted.submission_a, "内部メモ：ヒアリング候補")
    issue(submitted)
    for login_id in ("agency-a", "ministry-a"):
        web = signed_in(make_web, login_id)
        for url in ("/", f"/submissions/{submitted.submission_a.id}", "/improvements/"):
            assert "ヒアリング候補" not in web.get(url).get_data(as_text=True)
    center = signed_in(make_web, "center")
    assert "ヒアリング候補" in center.get(f"/review/submissions/{submitted.submission_a.id}").get_data(as_text=True)


def test_attachment_download_follows_the_points_scope(submitted, make_web, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tmp_path))
    point = issue(submitted).points[0]
    web = signed_in(make_web, "agency-a")
    web.get(f"/improvements/points/{point.id}")
    response = web.post(
        f"/improvements/points/{point.id}/answer",
        {
            "plan": "規程改正",
            "plan_due_on": "2027-03-31",
            "lock_version": point.lock_version,
            "attachment": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "計画書.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    page = web.get(f"/improvements/points/{point.id}").get_data(as_text=True)
    import re

    url = re.search(r"/improvements/attachments/\d+", page).group(0)
    download = web.get(url)
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert "attachment" in download.headers["Content-Disposition"]
    assert signed_in(make_web, "ministry-a").get(url).status_code == 200
    assert signed_in(make_web, "agency-b").get(url).status_code == 404


def test_by_default_an_attachment_is_kept_in_the_database_and_goes_with_a_refused_action(submitted, make_web, app):
    from agencyapp.models import Attachment, FileBlob

    assert not app.config.get("ATTACHMENT_DIR")
    point = issue(submitted).points[0]
    web = signed_in(make_web, "agency-a")
    web.get(f"/improvements/points/{point.id}")

    def answer(plan_due_on, lock):
        return web.post(
            f"/improvements/points/{point.id}/answer",
            {
                "plan": "規程改正",
                "plan_due_on": plan_due_on,
                "lock_version": lock,
                "attachment": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "計画書.pdf"),
            },
            content_type="multipart/form-data",
        )

    assert answer("2000-01-01", point.lock_version).status_code == 422  # refused: nothing kept
    db.session.expire_all()
    assert db.session.scalars(select(FileBlob)).all() == []
    assert answer("2027-03-31", point.lock_version).status_code == 303
    stored = db.session.scalar(select(Attachment))
    assert db.session.get(FileBlob, stored.stored_name).data.startswith(b"%PDF")
    download = web.get(f"/improvements/attachments/{stored.id}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4\n%%EOF\n"


def test_review_actions_are_for_the_center_only(submitted, make_web):
    sub = submitted.submission_a
    for login_id in ("agency-a", "ministry-a", "admin"):
        web = signed_in(make_web, login_id)
        web.get("/improvements/")
        for url in (
            f"/review/submissions/{sub.id}/accept",
            f"/review/submissions/{sub.id}/suggestions",
            f"/review/submissions/{sub.id}/notes",
        ):
            assert web.post(url, {"lock_version": sub.lock_version, "body": "x"}).status_code == 403
    assert reload(Submission, sub.id).status == "submitted"
    assert db.session.scalar(select(func.count()).select_from(ImprovementPoint)) == 0


def test_issue_over_http_with_a_past_date_shows_a_message_and_changes_nothing(submitted, make_web):
    act(points.suggest_points, submitted.center, submitted.submission_a)
    ids = [str(p.id) for p in db.session.scalars(select(ImprovementPoint))]
    web = signed_in(make_web, "center")
    web.get(f"/review/submissions/{submitted.submission_a.id}")
    response = web.post(
        f"/review/submissions/{submitted.submission_a.id}/requests", {"point_ids": ids, "due_on": "2020-01-01"}
    )
    # The page again (no redirect to an anchor): the message sits in the issue form, the date is kept.
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="issue-error" role="alert">回答期限は明日以降' in page
    assert 'value="2020-01-01" aria-invalid="true" aria-describedby="issue-error" autofocus' in page
    assert db.session.scalar(select(func.count()).select_from(ImprovementRequest)) == 0


def test_a_refused_assessment_keeps_the_chosen_score_and_says_why_beside_it(submitted, make_web):
    web = signed_in(make_web, "center")
    sub = submitted.submission_a
    web.get(f"/review/submissions/{sub.id}")
    response = web.post(f"/review/submissions/{sub.id}/assessments/2", {"value": "1", "reason": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="assess-2-error" role="alert">' in page and "理由を入力してください" in page
    form = page[page.index('id="assess-2"') : page.index('id="assess-reason-2"')]
    assert '<option value="1" selected>' in form  # the score does not snap back
    assert 'aria-describedby="assess-2-error" autofocus' in page


def test_an_empty_note_and_a_failed_new_point_keep_their_place_and_what_was_typed(submitted, make_web):
    web = signed_in(make_web, "center")
    sub = submitted.submission_a
    web.get(f"/review/submissions/{sub.id}")
    page = web.post(f"/review/submissions/{sub.id}/notes", {"body": "  "}).get_data(as_text=True)
    assert 'id="notes-error" role="alert">メモの内容を入力してください' in page
    response = web.post(
        f"/review/submissions/{sub.id}/points",
        {"question": "999", "finding": "入力した指摘", "requested_action": "求める事項"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="add-point-error" role="alert">設問番号 999' in page
    assert '<details class="add-point" open>' in page and "入力した指摘" in page and "求める事項" in page
    fragment = web.post(
        f"/review/submissions/{sub.id}/points", {"question": "999", "finding": "htmxの指摘"}, htmx=True
    ).get_data(as_text=True)
    assert 'id="add-point-error"' in fragment and "htmxの指摘" in fragment and 'class="add-point" open' in fragment


# --- queue ----------------------------------------------------------------------------------


def test_queue_filters_and_sorts(submitted, make_web):
    web = signed_in(make_web, "center")
    page = web.get("/review/").get_data(as_text=True)
    assert "提出済 2件" in page and "未着手 1件" in page
    not_met = web.get("/review/?important=not_met").get_data(as_text=True)
    assert "年金局" in not_met and "雇用保険課" not in not_met
    by_ministry = web.get(f"/review/?ministry={submitted.ministry_b.id}").get_data(as_text=True)
    assert "旅券" in by_ministry and "年金局" not in by_ministry
    searched = web.get("/review/?q=旅券").get_data(as_text=True)
    assert "旅券" in searched and "年金局" not in searched
    fragment = web.client.get("/review/?q=年金", headers={"HX-Request": "true", "HX-Target": "review-queue"})
    assert fragment.get_data(as_text=True).lstrip().startswith('<div id="review-queue">')
    for key in ("unit", "ministry", "status", "submitted_at", "mean", "full_rate", "important", "open_points"):
        for direction in ("asc", "desc"):
            assert web.get(f"/review/?sort={key}&dir={direction}").status_code == 200


def test_queue_marks_overdue_units(submitted, make_web):
    submitted.cycle.due_on = today_tokyo() - timedelta(days=1)
    db.session.commit()
    page = signed_in(make_web, "center").get("/review/?overdue=1").get_data(as_text=True)
    assert "期限超過" in page and "雇用保険課" in page
    assert "年金局" not in page  # submitted in time


def grow(world, count):
    units = [factories.make_unit(world.ministry_a, f"many-{i}", f"多数機関{i:03d}", 200 + i) for i in range(count)]
    db.session.commit()
    from agencyapp.services.cycles import add_targets

    act(add_targets, world.cycle, units)
    for unit in units[:6]:
        user = factories.make_user(f"u-{unit.code}", "agency", unit=unit)
        db.session.commit()
        sub = submit_answers(user, factories.submission_of(world.cycle, unit))
        issue(world, submission=sub)


def test_queue_and_review_pages_use_a_fixed_number_of_statements(submitted, make_web, count_statements):
    issue(submitted)
    web = signed_in(make_web, "center")
    urls = [
        "/review/?sort=open_points",
        f"/review/submissions/{submitted.submission_a.id}",
        "/improvements/",
        "/notifications/",
    ]
    web.get(urls[1])  # the first opening writes the read log; the measured ones fall within its half hour
    before = []
    for url in urls:
        with count_statements() as counter:
            assert web.get(url).status_code == 200
        before.append(counter)
    grow(submitted, 40)
    for _ in range(3):
        act(points.add_point, submitted.center, submitted.submission_a, 3, "追加の指摘", "")
    for url, small in zip(urls, before, strict=True):
        with count_statements() as large:
            assert web.get(url).status_code == 200
        assert large.count == small.count, (url, small, large)


# --- notifications and mail -----------------------------------------------------------------


def test_unread_count_in_the_header_and_marking_read(submitted, make_web):
    issue(submitted)
    web = signed_in(make_web, "agency-a")
    assert 'aria-label="未読 1件"' in web.get("/").get_data(as_text=True)
    notification = db.session.scalar(select(Notification).where(Notification.user_id == submitted.agency.id))
    other = signed_in(make_web, "ministry-a")
    other.get("/notifications/")
    assert other.post(f"/notifications/{notification.id}/read").status_code == 404
    response = web.post(f"/notifications/{notification.id}/read")
    assert response.status_code == 303 and response.headers["Location"].startswith("/improvements/requests/")
    assert "未読" not in web.get("/").get_data(as_text=True).split("</header>")[0]


def test_issuing_sends_mail_when_smtp_is_configured(submitted, make_web, smtp_config):
    for user in (submitted.agency, submitted.ministry_user):
        user.email = f"{user.login_id}@example.jp"
    db.session.commit()
    act(points.suggest_points, submitted.center, submitted.submission_a)
    ids = [str(p.id) for p in db.session.scalars(select(ImprovementPoint))]
    web = signed_in(make_web, "center")
    web.get(f"/review/submissions/{submitted.submission_a.id}")
    due = (today_tokyo() + timedelta(days=20)).isoformat()
    assert (
        web.post(
            f"/review/submissions/{submitted.submission_a.id}/requests", {"point_ids": ids, "due_on": due}
        ).status_code
        == 303
    )
    messages = smtp_config.handler.messages()
    assert sorted(m["To"] for m in messages) == ["agency-a@example.jp", "ministry-a@example.jp"]
    assert all("改善依頼" in m["Subject"] for m in messages)
    assert "/improvements/requests/" in messages[0].get_content()


def test_a_refused_action_sends_no_mail(submitted, make_web, smtp_config):
    submitted.agency.email = "agency-a@example.jp"
    db.session.commit()
    web = signed_in(make_web, "center")
    web.get(f"/review/submissions/{submitted.submission_a.id}")
    web.post(f"/review/submissions/{submitted.submission_a.id}/requests", {"point_ids": [], "due_on": "2030-01-01"})
    assert smtp_config.handler.messages() == []


def test_a_refused_answer_keeps_what_the_agency_typed(submitted, make_web, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tmp_path))
    point = issue(submitted).points[0]
    web = signed_in(make_web, "agency-a")
    web.get(f"/improvements/points/{point.id}")
    response = web.post(
        f"/improvements/points/{point.id}/answer",
        {
            "plan": "委託契約書を改定する",
            "plan_due_on": "2027-03-31",
            "report": "",
            "lock_version": point.lock_version,
            "attachment": (io.BytesIO(b"<html>not a pdf</html>"), "plan.pdf"),
        },
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "添付できる" in page
    assert "委託契約書を改定する" in page and 'value="2027-03-31"' in page
    assert reload(ImprovementPoint, point.id).status == "issued"


def test_due_date_input_starts_tomorrow(submitted, make_web):
    act(points.suggest_points, submitted.center, submitted.submission_a)
    page = signed_in(make_web, "center").get(f"/review/submissions/{submitted.submission_a.id}").get_data(as_text=True)
    assert f'min="{(today_tokyo() + timedelta(days=1)).isoformat()}"' in page


def test_the_center_reopens_an_accepted_submission_with_a_reason_and_the_card_shows_the_record(submitted, make_web):
    sub = submitted.submission_a
    act(review.return_submission, submitted.center, sub, "設問1の根拠を確認してください", sub.lock_version)
    sub = reload(Submission, sub.id)
    act(save_all, submitted.agency, sub, {"answer-1": "3"}, sub.lock_version)
    act(submit, submitted.agency, reload(Submission, sub.id), reload(Submission, sub.id).lock_version)
    sub = reload(Submission, sub.id)
    act(review.accept_submission, submitted.center, sub, sub.lock_version)
    sub = reload(Submission, sub.id)
    with pytest.raises(DomainError, match="理由"):
        act(review.reopen_submission, submitted.center, sub, " ", sub.lock_version)
    web = signed_in(make_web, "center")
    page = web.get(f"/review/submissions/{sub.id}").get_data(as_text=True)
    assert "確認済を取り消す</button>" in page and 'data-confirm="確認済を取り消して' in page
    response = web.post(f"/review/submissions/{sub.id}/reopen", {"reason": "", "lock_version": sub.lock_version})
    assert response.status_code == 422 and 'id="reopen-error"' in response.get_data(as_text=True)
    response = web.post(
        f"/review/submissions/{sub.id}/reopen", {"reason": "添付の規程が旧版でした", "lock_version": sub.lock_version}
    )
    assert response.status_code == 303
    assert reload(Submission, sub.id).status == "submitted"
    page = web.get(f"/review/submissions/{sub.id}").get_data(as_text=True)
    log = page[page.index("確認の記録") :]
    for what in ("確認済の取消し", "確認済", "差戻し", "提出"):
        assert what in log
    assert "理由：添付の規程が旧版でした" in log and "理由：設問1の根拠を確認してください" in log
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "submission.reopened"))
    assert event.actor_id == submitted.center.id and event.after == {
        "status": "submitted",
        "reason": "添付の規程が旧版でした",
    }
    kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == submitted.agency.id)).all()
    assert "submission_reopened" in kinds


def test_the_agency_withdraws_an_answer_the_center_has_not_opened_and_the_history_keeps_it(submitted, make_web):
    point = issue(submitted).points[0]
    act(
        points.answer_point,
        submitted.agency,
        point,
        "計画（誤り）",
        today_tokyo() + timedelta(days=30),
        "",
        None,
        point.lock_version,
    )
    agency = signed_in(make_web, "agency-a")
    page = agency.get(f"/improvements/points/{point.id}").get_data(as_text=True)
    assert "回答を取り下げて修正する</button>" in page
    point = reload(ImprovementPoint, point.id)
    assert (
        agency.post(f"/improvements/points/{point.id}/withdraw", {"lock_version": point.lock_version}).status_code
        == 303
    )
    point = reload(ImprovementPoint, point.id)
    assert point.status == "issued"
    page = agency.get(f"/improvements/points/{point.id}").get_data(as_text=True)
    assert "機関が回答を取り下げ" in page and "回答する" in page
    # once the center has opened the answer, it stays
    act(
        points.answer_point,
        submitted.agency,
        point,
        "計画（修正後）",
        today_tokyo() + timedelta(days=30),
        "",
        None,
        point.lock_version,
    )
    center = signed_in(make_web, "center")
    center.get(f"/improvements/points/{point.id}")
    point = reload(ImprovementPoint, point.id)
    assert point.answer_seen_at is not None
    assert "回答を取り下げて修正する</button>" not in agency.get(f"/improvements/points/{point.id}").get_data(
        as_text=True
    )
    with pytest.raises(DomainError, match="センターが既に回答を確認し始めている"):
        act(points.withdraw_answer, submitted.agency, point, point.lock_version)


# --- the 確認点 form, drawn where it is asked for --------------------------------------------


def test_the_review_page_draws_a_score_form_only_where_it_is_asked_for(submitted, make_web):
    web = signed_in(make_web, "center")
    sub = submitted.submission_a
    page = web.get(f"/review/submissions/{sub.id}").get_data(as_text=True)
    assert "form.assess-form" not in page and 'class="assess-form"' not in page
    assert page.count("確認点を付ける<span") == sum(1 for q in all_questions_applying(sub))
    assert f'href="/review/submissions/{sub.id}?assess=2#review-q-2"' in page
    assert f'hx-get="/review/submissions/{sub.id}/assessments/2"' in page

    # With htmx the form comes into its row; without, the page comes back with that row's form open.
    fragment = web.get(f"/review/submissions/{sub.id}/assessments/2", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and html.count('class="assess-form"') == 1
    assert 'id="assess-2" name="value" autofocus' in html and "<html" not in html
    plain = web.get(f"/review/submissions/{sub.id}/assessments/2")
    assert plain.status_code == 302 and plain.headers["Location"].endswith("?assess=2#review-q-2")
    opened = web.get(f"/review/submissions/{sub.id}?assess=2").get_data(as_text=True)
    assert opened.count('class="assess-form"') == 1 and 'id="assess-2"' in opened


def test_a_given_score_is_shown_with_its_reason_and_can_be_changed(submitted, make_web):
    act(review.set_assessment, submitted.center, submitted.submission_a, 2, "1", "点検記録が<b>ない</b>")
    web = signed_in(make_web, "center")
    sub = submitted.submission_a
    page = web.get(f"/review/submissions/{sub.id}").get_data(as_text=True)
    row = page[page.index('id="review-q-2"') : page.index('id="review-q-3"')]
    assert "確認点 1 " in row and "理由：点検記録が&lt;b&gt;ない&lt;/b&gt;" in row and "確認点を変更" in row
    form = web.get(f"/review/submissions/{sub.id}/assessments/2", headers={"HX-Request": "true"})
    html = form.get_data(as_text=True)
    assert '<option value="1" selected>' in html and "点検記録が&lt;b&gt;ない&lt;/b&gt;</textarea>" in html


def test_no_score_form_for_a_question_that_does_not_apply_or_does_not_exist(submitted, make_web):
    sub = submitted.submission_a
    off = next(q.number for q in load_structure(sub.cycle.version).questions if not applies_to(sub, q.number))
    web = signed_in(make_web, "center")
    for number in (off, 9999):
        response = web.get(f"/review/submissions/{sub.id}/assessments/{number}", headers={"HX-Request": "true"})
        assert response.status_code == 422 and 'class="assess-form"' not in response.get_data(as_text=True)
    agency = signed_in(make_web, "agency-a")
    assert agency.get(f"/review/submissions/{sub.id}/assessments/2").status_code in (403, 404)


def all_questions_applying(submission):
    state = load_state(submission)
    return [q for q in state.structure.questions if state.applies[q.number]]


def applies_to(submission, number):
    return load_state(submission).applies[number]
