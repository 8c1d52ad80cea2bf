"""Internal approval (決裁): sent frozen with its hash, approved or returned by the unit's approver, never by
whoever prepared it, withdrawn by any change; units without an approver submit as before."""

import pytest
from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.models import AuditEvent, Notification, Submission, SubmissionApproval
from agencyapp.services import DomainError, StaleError, approvals
from agencyapp.services.selfcheck import save_all, save_answer, submit
from tests.factories import PASSWORD, act, make_user
from tests.test_selfcheck import all_threes


def _reload(submission):
    db.session.expire_all()
    return db.session.get(Submission, submission.id)


@pytest.fixture
def approver(ctx, world):
    user = make_user("approver-a", "agency", unit=world.unit_a, name="決裁 課長")
    user.approver = True
    db.session.commit()
    return user


def _complete(world):
    submission = world.submission_a
    act(save_all, world.agency, submission, all_threes(submission), submission.lock_version)
    return _reload(submission)


def test_the_approval_cycle_return_fix_approve_submit(world, approver):
    submission = _complete(world)
    with pytest.raises(DomainError, match="承認者の承認を受けてから提出します"):
        act(submit, world.agency, submission, submission.lock_version)
    row = act(approvals.request_approval, world.agency, submission, submission.lock_version)
    submission = _reload(submission)
    assert submission.status == "approval" and row.sha256 == approvals.content_of(submission)[1]
    assert db.session.scalar(select(Notification.link).where(Notification.user_id == approver.id)).endswith("/approval")
    # The approver returns it with a comment; the contact fixes one answer and asks again.
    with pytest.raises(DomainError, match="差し戻す理由"):
        act(approvals.return_internally, approver, submission, "", submission.lock_version)
    act(approvals.return_internally, approver, submission, "設問5の根拠を備考に", submission.lock_version)
    submission = _reload(submission)
    assert submission.status == "draft"
    act(save_answer, world.agency, submission, 5, "3", "規程第5条による", submission.lock_version)
    submission = _reload(submission)
    second = act(approvals.request_approval, world.agency, submission, submission.lock_version)
    assert second.sha256 != row.sha256
    submission = _reload(submission)
    act(approvals.approve, approver, submission, second.sha256, submission.lock_version)
    submission = _reload(submission)
    assert submission.status == "approved"
    act(submit, world.agency, submission, submission.lock_version)  # the contact submits what was approved
    assert _reload(submission).status == "submitted"
    events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == submission.id)).all()
    for event in ("approval.requested", "approval.returned", "approval.approved", "submission.submitted"):
        assert event in events


def test_a_change_after_approval_sends_it_back(world, approver):
    submission = _complete(world)
    row = act(approvals.request_approval, world.agency, submission, submission.lock_version)
    submission = _reload(submission)
    act(approvals.approve, approver, submission, row.sha256, submission.lock_version)
    submission = _reload(submission)
    act(save_answer, world.agency, submission, 2, "2", "", submission.lock_version)
    submission = _reload(submission)
    assert submission.status == "draft"
    assert db.session.get(SubmissionApproval, row.id).status == "superseded"
    with pytest.raises(DomainError, match="承認者の承認を受けてから提出します"):
        act(submit, world.agency, submission, submission.lock_version)
    # A change while waiting withdraws the request too.
    act(approvals.request_approval, world.agency, submission, submission.lock_version)
    submission = _reload(submission)
    act(save_answer, world.agency, submission, 2, "3", "", submission.lock_version)
    assert _reload(submission).status == "draft" and approvals.current(submission).status == "superseded"


def test_nobody_approves_their_own_preparation_or_a_stale_page(world, approver):
    submission = world.submission_a
    # The approver wrote an answer: they prepared it, so they may not approve it.
    act(save_all, approver, submission, all_threes(submission), submission.lock_version)
    submission = _reload(submission)
    row = act(approvals.request_approval, world.agency, submission, submission.lock_version)
    submission = _reload(submission)
    with pytest.raises(DomainError, match="自分が作成した、または承認を依頼した"):
        act(approvals.approve, approver, submission, row.sha256, submission.lock_version)
    other = make_user("approver-a2", "agency", unit=world.unit_a)
    other.approver = True
    db.session.commit()
    with pytest.raises(StaleError):
        act(approvals.approve, other, submission, "0" * 64, submission.lock_version)  # not what the page showed
    from agencyapp.errors import Forbidden

    with pytest.raises(Forbidden):  # a contact is no approver
        act(approvals.approve, world.agency, submission, row.sha256, submission.lock_version)
    act(approvals.approve, other, submission, row.sha256, submission.lock_version)
    assert _reload(submission).status == "approved"


def test_units_without_an_approver_submit_as_before(world):
    submission = _complete(world)
    with pytest.raises(DomainError, match="承認者がいないため"):
        act(approvals.request_approval, world.agency, submission, submission.lock_version)
    act(submit, world.agency, submission, _reload(submission).lock_version)
    assert _reload(submission).status == "submitted"


def test_the_pages_the_approver_and_the_ministry_see(world, approver, make_web):
    submission = _complete(world)
    contact = make_web()
    contact.login("agency-a", PASSWORD)
    page = contact.get(f"/submissions/{submission.id}/submit").get_data(as_text=True)
    assert "承認を依頼する" in page and "決裁 課長" in page and "提出する</button>" not in page
    assert (
        contact.post(
            f"/submissions/{submission.id}/request-approval", {"lock_version": str(submission.lock_version)}
        ).status_code
        == 303
    )
    submission = _reload(submission)
    web = make_web()
    web.login("approver-a", PASSWORD)
    page = web.get(f"/submissions/{submission.id}/approval").get_data(as_text=True)
    row = approvals.current(submission)
    assert "この内容で承認する" in page and row.sha256 in page and "差し戻す" in page
    response = web.post(
        f"/submissions/{submission.id}/approve",
        {"sha256": row.sha256, "lock_version": str(submission.lock_version)},
    )
    assert response.status_code == 303
    ministry = make_web()
    ministry.login("ministry-a", PASSWORD)
    page = ministry.get(f"/submissions/{submission.id}/approval").get_data(as_text=True)
    assert "承認済み" in page and "この内容で承認する" not in page
    assert ministry.post(f"/submissions/{submission.id}/approve", {"sha256": row.sha256}).status_code in (403, 404)
    page = contact.get(f"/submissions/{submission.id}/submit").get_data(as_text=True)
    assert "承認済み" in page and "提出する</button>" in page


def test_the_approvers_home_lists_what_waits_for_approval(world, approver, make_web):
    submission = _complete(world)
    act(approvals.request_approval, world.agency, submission, submission.lock_version)
    web = make_web()
    web.login("approver-a", PASSWORD)
    page = web.get("/").get_data(as_text=True)
    assert "承認を依頼された自己点検" in page and f"/submissions/{submission.id}/approval" in page
    contact = make_web()
    contact.login("agency-a", PASSWORD)
    assert "承認を依頼された自己点検" not in contact.get("/").get_data(as_text=True)
