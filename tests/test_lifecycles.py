"""Every lifecycle, exhaustively: each state × transition × role either succeeds exactly as the table says,
or is refused with a Japanese message and leaves the database as it was (no audit row either)."""

import re

import pytest
from sqlalchemy import func, select

from agencyapp.actions import Action
from agencyapp.errors import DomainError, Forbidden
from agencyapp.extensions import db
from agencyapp.lifecycles import CYCLE, HEARING, LIFECYCLES, POINT, SUBMISSION, VERSION, State
from agencyapp.models import AuditEvent, ChecklistVersion, Hearing, ImprovementPoint
from agencyapp.services import workflow

# Who may take the steps of each action on an object of the world's unit A (written out here, not
# read from the policy, so that this file is the specification the policy is held to).
ROLES = ("agency", "approver", "agency_b", "center", "ministry_user", "admin")  # approver: unit A's 承認者
MAY = {
    Action.SUBMISSION_EDIT: {"agency", "approver"},
    Action.SUBMISSION_SUBMIT: {"agency", "approver"},
    Action.SUBMISSION_APPROVE: {"approver"},
    Action.SUBMISSION_ASSESS: {"center"},
    Action.SUBMISSION_NOTE: {"center"},
    Action.SUBMISSION_RETURN: {"center"},
    Action.SUBMISSION_ACCEPT: {"center"},
    Action.POINT_DRAFT: {"center"},
    Action.POINT_ISSUE: {"center"},
    Action.POINT_ANSWER: {"agency", "approver"},
    Action.POINT_RETURN: {"center"},
    Action.POINT_CLOSE: {"center"},
    Action.HEARING_MANAGE: {"center"},
    Action.HEARING_RESPOND: {"agency", "approver"},
    Action.CHECKLIST_MANAGE: {"center"},
    Action.CYCLE_MANAGE: {"center"},
}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _audit_count():
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def _subject(world, lifecycle):
    """An object of unit A governed by ``lifecycle``."""
    if lifecycle is SUBMISSION:
        return world.submission_a
    if lifecycle is CYCLE:
        return world.cycle
    if lifecycle is VERSION:
        base = world.cycle.version
        point = ChecklistVersion(
            code="lifecycle-draft",
            edition=base.edition,
            fiscal_year=base.fiscal_year + 1,
            title=base.title,
            status="draft",
            scale=base.scale,
            source_sha256="0" * 64,
            based_on_id=base.id,
        )
    elif lifecycle is POINT:
        point = ImprovementPoint(
            submission_id=world.submission_a.id, finding="試験の指摘", status="draft", created_by_id=world.center.id
        )
    else:
        point = Hearing(
            cycle_id=world.cycle.id,
            unit_id=world.unit_a.id,
            selection_reason="試験",
            status="candidate",
            created_by_id=world.center.id,
        )
    db.session.add(point)
    db.session.commit()
    return point


def _with_approver(world):
    """Unit A's approver (承認者): an agency user of the unit who may also approve."""
    from tests.factories import make_user

    world.approver = make_user("approver-a", "agency", unit=world.unit_a)
    world.approver.approver = True
    db.session.commit()


def _cases(lifecycle):
    return [(t, state, role) for t in lifecycle.transitions for state in lifecycle.states for role in ROLES]


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=lambda lc: lc.name)
def test_every_state_transition_and_role_does_what_the_table_says(ctx, world, lifecycle):
    _with_approver(world)
    obj = _subject(world, lifecycle)
    wrong = []
    for transition, state, role in _cases(lifecycle):
        user = getattr(world, role)
        obj.status = state.value
        db.session.commit()
        audit_before = _audit_count()
        expected = state in transition.sources and role in MAY[transition.action]
        outcome, message = "done", ""
        try:
            result = workflow.apply(obj, transition.name, user, summary="試験")
        except Forbidden as exc:
            outcome, message = "forbidden", exc.message
        except DomainError as exc:
            outcome, message = "refused", exc.message
        case = f"{lifecycle.name}.{transition.name} from {state.value} as {role}"
        if expected:
            target = transition.target or state
            event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
            db.session.flush()
            if outcome != "done" or result is not target or obj.status != target.value:
                wrong.append(f"{case}: expected to reach {target.value}, got {outcome} {message}")
            elif _audit_count() != audit_before + 1 or event.action != transition.event:
                wrong.append(f"{case}: expected one audit event {transition.event}")
            elif transition.target not in (None, state) and event.after.get("status") != target.value:
                wrong.append(f"{case}: the audit event does not record the new state")
        else:
            if outcome == "done":
                wrong.append(f"{case}: should have been refused")
            elif not JAPANESE.search(message):
                wrong.append(f"{case}: refusal without a Japanese message: {message!r}")
            elif outcome == "refused" and role in MAY[transition.action] and state.label not in message:
                wrong.append(f"{case}: a refusal for the state should name it: {message}")
            db.session.flush()
            if obj.status != state.value or _audit_count() != audit_before:
                wrong.append(f"{case}: a refused step changed the database")
        db.session.rollback()
    assert wrong == []


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=lambda lc: lc.name)
def test_permitted_agrees_with_apply(ctx, world, lifecycle):
    """Pages show a form exactly where the step would be accepted."""
    _with_approver(world)
    obj = _subject(world, lifecycle)
    for transition, state, role in _cases(lifecycle):
        obj.status = state.value
        user = getattr(world, role)
        expected = state in transition.sources and role in MAY[transition.action]
        assert workflow.permitted(user, obj, transition.name) is expected, (transition.name, state, role)
    db.session.rollback()


def test_a_typo_in_a_transition_name_is_an_error_not_a_refusal(ctx, world):
    with pytest.raises(ValueError):
        workflow.apply(world.submission_a, "acept", world.center, summary="")


def test_states_carry_their_label_and_badge():
    for lifecycle in LIFECYCLES:
        for state in lifecycle.states:
            assert isinstance(state, State) and JAPANESE.search(state.label) and state.badge.startswith("badge--")


def test_a_state_is_stored_as_its_code(ctx, world):
    """The column keeps plain codes, so existing rows and SQL filters are unchanged."""
    hearing = _subject(world, HEARING)
    workflow.apply(hearing, "propose", world.center, summary="試験")
    db.session.commit()
    stored = db.session.execute(select(Hearing.status).where(Hearing.id == hearing.id)).scalar_one()
    assert stored == "proposing" and type(stored) is str
