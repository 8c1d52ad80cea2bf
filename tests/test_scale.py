"""seed-scale: bulk data that the app's own code agrees with, in every state, and a command that refuses safely."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from agencyapp import scoring
from agencyapp.demo import DEMO_PASSWORD
from agencyapp.extensions import db
from agencyapp.formatting import fiscal_year_of, today_tokyo
from agencyapp.lifecycles import FROZEN, POINT_OPEN, HearingState, PointState
from agencyapp.models import (
    Answer,
    AuditEvent,
    Cycle,
    CycleReport,
    Hearing,
    ImprovementPoint,
    ImprovementRequest,
    Notification,
    Submission,
    SubmissionFigure,
    SubmissionSnapshot,
    Unit,
    User,
)
from agencyapp.scale import seed_scale
from agencyapp.services import DomainError
from agencyapp.services.checklists import clear_structure_cache
from agencyapp.services.selfcheck import latest_snapshot, load_state, snapshot_document
from tests.factories import act

UNITS, YEARS = 6, 2
DEMO_LOGINS = ("demo-agency", "demo-agency2", "demo-center", "demo-ministry", "demo-admin")


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def seeded(ctx):
    counts = act(seed_scale, UNITS, YEARS, seed=7)
    yield counts
    clear_structure_cache()  # a --fresh test imports the checklists again under ids a later test may reuse


def with_snapshot():
    return db.session.scalars(
        select(Submission).where(Submission.status.in_(["submitted", "accepted", "returned"])).order_by(Submission.id)
    ).all()


def test_the_size_asked_for_every_unit_every_year(seeded):
    assert count(Unit) == UNITS and count(Cycle) == YEARS
    assert count(Submission) == UNITS * YEARS
    current = fiscal_year_of(today_tokyo())
    years = db.session.scalars(select(Cycle).order_by(Cycle.fiscal_year)).all()
    assert [c.fiscal_year for c in years] == list(range(current - YEARS + 1, current + 1))
    assert all(c.due_on < today_tokyo() for c in years[:-1]) and years[-1].due_on > today_tokyo()
    assert all(c.important_goals and c.version.code == "national-r8" for c in years)
    assert seeded["answer"] == count(Answer) and seeded["audit_event"] <= count(AuditEvent)
    newest = {s.status for s in db.session.scalars(select(Submission).where(Submission.cycle_id == years[-1].id))}
    assert {"not_started", "draft", "submitted", "accepted"} <= newest


def test_every_snapshot_is_what_submit_would_have_frozen(seeded):
    submissions = with_snapshot()
    assert len(submissions) >= UNITS
    for submission in submissions:
        state = load_state(submission)
        snapshot = latest_snapshot(submission)
        assert snapshot.sha256 == hashlib.sha256(snapshot.content.encode("utf-8")).hexdigest()
        cycle, unit, version = submission.cycle, submission.unit, submission.cycle.version
        document = snapshot_document(
            submission_id=submission.id,
            cycle_id=cycle.id,
            fiscal_year=cycle.fiscal_year,
            cycle_title=cycle.title,
            unit_code=unit.code,
            unit_name=unit.name,
            checklist_code=version.code,
            checklist_sha256=version.source_sha256,
            submitted_at=snapshot.created_at,
            submitted_by=snapshot.created_by.login_id,
            question_numbers=[q.number for q in state.structure.questions],
            values=state.values,
            notes={n: a.note for n, a in state.answers.items()},
            applies=state.applies,
        )
        assert snapshot.content == document.text and snapshot.sha256 == document.sha256
        assert json.loads(snapshot.content) == document.content
        scores = state.scores()
        assert snapshot.scores == scores.as_dict()
        assert (submission.score_mean, submission.score_full_rate) == (scores.overall.mean, scores.overall.full_rate)
        assert submission.important_met == scores.important_met
        assert submission.important_below == len(scores.important_failing)
        assert submission.submitted_at == snapshot.created_at and submission.submitted_by_id == snapshot.created_by_id
        figures = db.session.scalars(select(SubmissionFigure).where(SubmissionFigure.submission_id == submission.id))
        stored = sorted((f.category_code, f.answered, f.points, f.full) for f in figures)
        assert stored == sorted(
            (f["category_code"], f["answered"], f["points"], f["full"]) for f in scoring.figures(scores)
        )
        if submission.status != "returned":
            assert state.missing() == [], f"submission {submission.id} lacks applicable answers"
        if submission.status == "accepted":
            assert submission.reviewed_at and submission.reviewed_by.role == "center"


def test_resubmissions_keep_their_earlier_snapshots(ctx):
    act(seed_scale, 40, 2, seed=3)
    sequences = db.session.execute(
        select(SubmissionSnapshot.submission_id, func.count()).group_by(SubmissionSnapshot.submission_id)
    ).all()
    assert any(n == 2 for _, n in sequences)
    for sid, n in sequences:
        snapshots = db.session.scalars(
            select(SubmissionSnapshot)
            .where(SubmissionSnapshot.submission_id == sid)
            .order_by(SubmissionSnapshot.sequence)
        ).all()
        assert [s.sequence for s in snapshots] == list(range(1, n + 1))
        assert all(s.sha256 == hashlib.sha256(s.content.encode()).hexdigest() for s in snapshots)
    clear_structure_cache()


def test_partial_answers_in_progress_and_none_before_starting(seeded):
    for submission in db.session.scalars(select(Submission).where(Submission.status.in_(["draft", "not_started"]))):
        state = load_state(submission)
        answered, applicable = state.progress()
        if submission.status == "not_started":
            assert answered == 0 and submission.lock_version == 1
        else:
            assert 0 < answered < applicable
            assert all(state.applies[n] for n, v in state.values.items() if v is not None)


def test_points_in_every_state_with_overdue_and_carried_ones(seeded):
    states = set(db.session.scalars(select(ImprovementPoint.status)))
    assert {str(s) for s in PointState} <= states
    today = today_tokyo()
    overdue = db.session.scalars(
        select(ImprovementPoint)
        .join(ImprovementRequest, ImprovementRequest.id == ImprovementPoint.request_id)
        .where(ImprovementPoint.status == str(PointState.ISSUED), ImprovementRequest.due_on < today)
    ).all()
    assert overdue
    newest = db.session.scalar(select(func.max(Cycle.fiscal_year)))
    carried = db.session.scalars(
        select(ImprovementPoint)
        .join(Submission, Submission.id == ImprovementPoint.submission_id)
        .join(Cycle, Cycle.id == Submission.cycle_id)
        .where(Cycle.fiscal_year < newest, ImprovementPoint.status.in_([str(s) for s in POINT_OPEN]))
    ).all()
    assert carried
    # Every past year was closed: its open points were carried into the next year (the latest carry named).
    assert all(p.carried_to_cycle_id is not None for p in carried)
    past = db.session.scalars(select(Cycle).where(Cycle.fiscal_year < newest)).all()
    assert past and all(c.status == "closed" for c in past)
    assert db.session.scalar(select(func.count()).select_from(CycleReport)) == len(past)
    for point in db.session.scalars(select(ImprovementPoint)):
        kinds = [e.kind for e in point.events]
        assert (point.carried_to_cycle_id is not None) == ("carried" in kinds)
        kinds = [k for k in kinds if k != "carried"]  # the carries at each year's close
        assert (point.request_id is None) == (point.status == "draft")
        assert point.submission.status in {str(s) for s in FROZEN}
        if point.status != "draft":
            assert kinds[0] == "issued"
        if point.status == "closed":
            assert kinds[-1] == "closed" and point.report and point.closed_at
        if point.status == "answered":
            assert kinds[-1] == "answered"
        assert all(e.at <= datetime.now(UTC) for e in point.events)


def test_history_and_notices_as_the_services_write_them(seeded):
    actions = set(db.session.scalars(select(AuditEvent.action).distinct()))
    assert {
        "answer.saved",
        "submission.submitted",
        "submission.accepted",
        "request.issued",
        "point.issued",
        "point.answered",
        "point.closed",
        "login.success",
        "logout",
        "cycle.opened",
        "hearing.selected",
    } <= actions
    first_save = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "answer.saved").order_by(AuditEvent.id).limit(1)
    )
    assert first_save.object_type == "submission" and first_save.before == {"status": "not_started"}
    assert first_save.after["status"] == "draft" and "question" in first_save.after
    for submitted in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.submitted")):
        hashes = db.session.scalars(
            select(SubmissionSnapshot.sha256).where(SubmissionSnapshot.submission_id == submitted.object_id)
        ).all()
        assert submitted.after["sha256"] in hashes and submitted.after["status"] == "submitted"
    assert db.session.scalar(select(func.max(AuditEvent.at))) <= datetime.now(UTC)
    assert count(Notification) > 0
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.read_at.is_(None)))
    assert count(Hearing) >= YEARS


def test_hearings_have_staff_and_dates_that_fit_their_state(seeded):
    for hearing in db.session.scalars(select(Hearing)):
        assert hearing.staff.role == "center" and hearing.documents
        if hearing.state in (HearingState.SCHEDULED, HearingState.HELD, HearingState.REPORTED):
            assert hearing.starts_at and hearing.ends_at > hearing.starts_at
            assert any(s.chosen for s in hearing.slots)
        if hearing.state in (HearingState.HELD, HearingState.REPORTED):
            assert hearing.starts_at < datetime.now(UTC) and hearing.minutes
        if hearing.state is HearingState.REPORTED:
            assert hearing.reported_at


def test_demo_accounts_sign_in_with_the_demo_password(seeded, make_web):
    users = {u.login_id: u for u in db.session.scalars(select(User).where(User.login_id.in_(DEMO_LOGINS)))}
    assert set(users) == set(DEMO_LOGINS)
    assert not any(u.must_change_password for u in users.values())
    assert users["demo-agency"].unit.ministry_id == users["demo-ministry"].ministry_id
    assert users["demo-agency2"].unit.ministry_id != users["demo-ministry"].ministry_id
    hashes = set(db.session.scalars(select(User.password_hash)))
    assert len(hashes) == 1  # one argon2 hash shared by every account
    for login in DEMO_LOGINS:
        web = make_web()
        response = web.login(login, DEMO_PASSWORD)
        assert response.status_code == 303 and response.headers["Location"] == "/", login
        assert web.get("/").status_code == 200


def test_demo_agency_has_history_every_year_and_can_autosave_today(seeded, make_web):
    agency = db.session.scalar(select(User).where(User.login_id == "demo-agency"))
    rows = db.session.scalars(
        select(Submission).join(Cycle).where(Submission.unit_id == agency.unit_id).order_by(Cycle.fiscal_year)
    ).all()
    assert [s.status for s in rows] == ["accepted"] * (YEARS - 1) + ["draft"]
    current = rows[-1]
    state = load_state(current)
    answered, applicable = state.progress()
    assert 0 < answered < applicable
    question = state.missing()[0]
    web = make_web()
    web.login("demo-agency", DEMO_PASSWORD)
    assert web.get(f"/submissions/{current.id}").status_code == 200
    response = web.post(
        f"/submissions/{current.id}/answers/{question.number}",
        {f"answer-{question.number}": "3", "lock_version": current.lock_version},
        htmx=True,
    )
    assert response.status_code == 200 and "保存しました" in response.get_data(as_text=True)


def test_refuses_to_add_to_existing_data_and_changes_nothing(seeded):
    before = (count(Unit), count(Answer), count(AuditEvent))
    with pytest.raises(DomainError) as refused:
        act(seed_scale, UNITS, YEARS, seed=7)
    assert "--fresh" in refused.value.message and "既にデータがあります" in refused.value.message
    assert (count(Unit), count(Answer), count(AuditEvent)) == before


def test_fresh_starts_again_and_the_same_seed_gives_the_same_data(ctx):
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    act(seed_scale, UNITS, YEARS, seed=11, now=now)
    first = db.session.execute(select(SubmissionSnapshot.sha256, Submission.status).join(Submission)).all()
    act(seed_scale, UNITS, YEARS, seed=11, now=now, fresh=True)
    again = db.session.execute(select(SubmissionSnapshot.sha256, Submission.status).join(Submission)).all()
    assert count(Unit) == UNITS and sorted(first) == sorted(again)
    clear_structure_cache()


def test_cli_refuses_outside_development(runner, ctx):
    result = runner.invoke(args=["seed-scale", "--units", "3", "--years", "1"])
    assert result.exit_code == 1
    assert "開発環境（AGENCYAPP_ENV=development）でのみ" in result.output
    assert count(Unit) == 0


def test_cli_in_development_seeds_once_and_then_refuses(runner, app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "development")
    result = runner.invoke(args=["seed-scale", "--units", "3", "--years", "1"])
    assert result.exit_code == 0, result.output
    assert "answer" in result.output and count(Unit) == 3
    again = runner.invoke(args=["seed-scale", "--units", "3", "--years", "1"])
    assert again.exit_code == 1 and "--fresh" in again.output
    assert count(Unit) == 3
    clear_structure_cache()
