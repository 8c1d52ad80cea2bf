"""Access policy: the only place where roles meet actions.

Every endpoint declares who may reach it in ``ENDPOINTS`` (deny by default:
an endpoint missing from the table answers 403 and a test fails). Object
rules are pure predicates over the user and the object, one per ``Action``
in ``RULES``; ``require`` raises ``Forbidden`` (the web layer answers 403) and
the fetch helpers combine fetching with authorising so that an out-of-scope
object raises ``NotFound`` (404). ``unit_scope`` is the one rule of which
units a user may see; every scoped query is built on it.
"""

from collections.abc import Callable
from typing import Any

from flask_login import AnonymousUserMixin
from sqlalchemy import ColumnElement, Select, SQLColumnExpression, bindparam, false, select, true
from sqlalchemy.orm import joinedload

from agencyapp.actions import Action
from agencyapp.errors import Forbidden, NotFound
from agencyapp.extensions import db
from agencyapp.lifecycles import HEARING_VISIBLE_OUTSIDE_CENTER, HearingState, PointState
from agencyapp.models import (
    Attachment,
    Cycle,
    ExportJob,
    Hearing,
    ImprovementPoint,
    ImprovementRequest,
    PointEvent,
    Submission,
    Unit,
    User,
)
from agencyapp.models.user import ADMIN, AGENCY, CENTER, MINISTRY, ROLES

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = ROLES  # any signed-in role

Rule = str | tuple[str, ...]  # PUBLIC, or the roles that may reach an endpoint

ENDPOINTS: dict[str, Rule] = {
    "static": PUBLIC,
    "health.healthz": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": SIGNED_IN,
    "auth.password": SIGNED_IN,
    "auth.keepalive": SIGNED_IN,
    "auth.token": SIGNED_IN,
    "dashboard.home": SIGNED_IN,
    "selfcheck.show": SIGNED_IN,
    "selfcheck.save_answer": (AGENCY,),
    "selfcheck.save_all": (AGENCY,),
    "selfcheck.carry_over": (AGENCY,),
    "selfcheck.print_view": SIGNED_IN,
    "selfcheck.earlier_items": SIGNED_IN,
    "selfcheck.request_approval": (AGENCY,),
    "selfcheck.workbook": (AGENCY,),
    "selfcheck.upload_workbook": (AGENCY,),
    "selfcheck.apply_workbook": (AGENCY,),
    "selfcheck.approval": SIGNED_IN,
    "selfcheck.approve": (AGENCY,),
    "selfcheck.return_internally": (AGENCY,),
    "selfcheck.confirm_carried": (AGENCY,),
    "selfcheck.confirm_submit": (AGENCY,),
    "selfcheck.submit": (AGENCY,),
    "review.queue": (CENTER,),
    "review.show": (CENTER,),
    "review.assess": (CENTER,),
    "review.assess_form": (CENTER,),
    "review.add_note": (CENTER,),
    "review.return_submission": (CENTER,),
    "review.accept": (CENTER,),
    "review.reopen": (CENTER,),
    "review.add_point": (CENTER,),
    "review.edit_point": (CENTER,),
    "review.delete_point": (CENTER,),
    "review.suggest_points": (CENTER,),
    "review.issue_request": (CENTER,),
    "review.phrases": (CENTER,),
    "review.save_phrase": (CENTER,),
    "review.delete_phrase": (CENTER,),
    "improvements.index": SIGNED_IN,
    "improvements.point": SIGNED_IN,
    "improvements.answer": (AGENCY,),
    "improvements.withdraw": (AGENCY,),
    "improvements.return_point": (CENTER,),
    "improvements.close_point": (CENTER,),
    "improvements.attachment": SIGNED_IN,
    "improvements.request": SIGNED_IN,
    "hearings.candidates": (CENTER,),
    "hearings.create": (CENTER,),
    "hearings.index": SIGNED_IN,
    "hearings.show": SIGNED_IN,
    "hearings.ics": SIGNED_IN,
    "hearings.propose": (CENTER,),
    "hearings.pick": (AGENCY,),
    "hearings.counter": (AGENCY,),
    "hearings.confirm": (CENTER,),
    "hearings.reschedule": (CENTER,),
    "hearings.cancel": (CENTER,),
    "hearings.documents": (CENTER,),
    "hearings.record": (CENTER,),
    "hearings.add_finding": (CENTER,),
    "hearings.finding_to_point": (CENTER,),
    "hearings.publish": (CENTER,),
    "hearings.feed": PUBLIC,  # authorised by the signed URL itself (calendar apps cannot sign in)
    "oversight.home": (CENTER, MINISTRY, ADMIN),
    "oversight.unit": (CENTER, MINISTRY, ADMIN),
    "oversight.export_xlsx": (CENTER, MINISTRY, ADMIN),
    "oversight.export_csv": (CENTER, MINISTRY, ADMIN),
    "audit.index": (CENTER, ADMIN),
    "audit.export_csv": (CENTER, ADMIN),
    "cycles.index": (CENTER, ADMIN),
    "cycles.new": (CENTER,),
    "cycles.close": (CENTER,),
    "reports.show": (CENTER, MINISTRY, ADMIN),
    "reports.print_view": (CENTER, MINISTRY, ADMIN),
    "reports.export_xlsx": (CENTER, MINISTRY, ADMIN),
    "reminders.index": (CENTER,),
    "reminders.send": (CENTER,),
    "checklists.index": (CENTER,),
    "checklists.start_draft": (CENTER,),
    "checklists.show": (CENTER,),
    "checklists.edit": (CENTER,),
    "checklists.source": (CENTER,),
    "checklists.upload_source": (CENTER,),
    "checklists.mapping": (CENTER,),
    "checklists.set_mapping": (CENTER,),
    "checklists.publish": (CENTER,),
    "checklists.discard": (CENTER,),
    "checklists.retire": (CENTER,),
    "checklists.comparison": (CENTER,),
    "checklists.comparison_xlsx": (CENTER,),
    "checklists.stats": (CENTER,),
    "checklists.stats_csv": (CENTER,),
    "checklists.stats_xlsx": (CENTER,),
    "checklists.question_notes": (CENTER,),
    "checklists.flag_question": (CENTER,),
    "admin.users": (ADMIN,),
    "admin.new_user": (ADMIN,),
    "admin.unit_options": (ADMIN,),
    "admin.user": (ADMIN,),
    "admin.set_active": (ADMIN,),
    "admin.unlock": (ADMIN,),
    "admin.set_password": (ADMIN,),
    "admin.edit_user": (ADMIN,),
    "admin.mail_status": (ADMIN,),
    "exports.index": (CENTER, MINISTRY, ADMIN),
    "exports.show": (CENTER, MINISTRY, ADMIN),
    "exports.file": (CENTER, MINISTRY, ADMIN),
    "admin.resend_mail": (ADMIN,),
    "organisations.index": (ADMIN,),
    "organisations.add_ministry": (ADMIN,),
    "organisations.add_unit": (ADMIN,),
    "organisations.update_unit": (ADMIN,),
    "notifications.index": SIGNED_IN,
    "notifications.mark_read": SIGNED_IN,
    "notifications.mark_all_read": SIGNED_IN,
}


def endpoint_rule(endpoint: str) -> Rule | None:
    """The declared rule of an endpoint, or None when it declares none."""
    return ENDPOINTS.get(endpoint)


def role_may_reach(role: str, rule: Rule) -> bool:
    return rule == PUBLIC or role in rule


def may_reach(user: User | AnonymousUserMixin, endpoint: str) -> bool:
    """May the user open this endpoint at all (for menus: a link is shown only where it leads somewhere)?"""
    rule = endpoint_rule(endpoint)
    if rule is None:
        return False
    return rule == PUBLIC or (getattr(user, "is_authenticated", False) and role_may_reach(user.role, rule))


# --- object rules: pure predicates, one per action ----------------------------------------------


def _role(*roles):
    return lambda user, obj: user.role in roles


def _anyone(user, obj):
    return True  # the object was fetched through the user's scope


def _own_unit(user, obj):
    return obj is not None and belongs_to_unit(user, obj.unit_id)


def _unit_approver(user, obj):
    """The unit's approver (承認者), on a self-check of the unit."""
    return user.role == AGENCY and bool(user.approver) and _own_unit(user, obj)


def _answer_point(user, obj):
    return (
        user.role == AGENCY
        and obj is not None
        and obj.status != PointState.DRAFT
        and obj.submission.unit_id == user.unit_id
    )


def _see_views(user, obj):
    return user.role == CENTER or _own_unit(user, obj)


def _see_record(user, obj):
    return user.role == CENTER or (obj is not None and obj.status == HearingState.REPORTED)


RULES: dict[Action, Callable[[Any, Any], bool]] = {
    Action.SUBMISSION_VIEW: _anyone,
    Action.SUBMISSION_EDIT: _own_unit,
    Action.SUBMISSION_SUBMIT: _own_unit,
    Action.SUBMISSION_APPROVE: _unit_approver,
    Action.SUBMISSION_VIEWS: _see_views,
    Action.SUBMISSION_REVIEW: _role(CENTER),
    Action.SUBMISSION_ASSESS: _role(CENTER),
    Action.SUBMISSION_NOTE: _role(CENTER),
    Action.SUBMISSION_RETURN: _role(CENTER),
    Action.SUBMISSION_ACCEPT: _role(CENTER),
    Action.POINT_VIEW: _anyone,
    Action.POINT_DRAFT: _role(CENTER),
    Action.POINT_ISSUE: _role(CENTER),
    Action.POINT_ANSWER: _answer_point,
    Action.POINT_RETURN: _role(CENTER),
    Action.POINT_CLOSE: _role(CENTER),
    Action.PHRASE_MANAGE: _role(CENTER),
    Action.HEARING_VIEW: _anyone,
    Action.HEARING_MANAGE: _role(CENTER),
    Action.HEARING_RESPOND: _own_unit,
    Action.HEARING_SEE_RECORD: _see_record,
    Action.HEARING_SEE_CANDIDATES: _role(CENTER),
    Action.OVERSIGHT_VIEW: _role(CENTER, MINISTRY, ADMIN),
    Action.AUDIT_VIEW: _role(CENTER, ADMIN),
    Action.OVERSIGHT_ANY_MINISTRY: _role(CENTER, ADMIN),
    Action.OBSERVE_ONLY: _role(MINISTRY, ADMIN),
    Action.CYCLE_MANAGE: _role(CENTER),
    Action.CHECKLIST_MANAGE: _role(CENTER),
    Action.REMINDER_SEND: _role(CENTER),
    Action.ORGANISATION_MANAGE: _role(ADMIN),
    Action.USER_MANAGE: _role(ADMIN),
}


def can(user: User | AnonymousUserMixin, action: Action | str, obj: object | None = None) -> bool:
    """May ``user`` do ``action`` on ``obj`` (an object already fetched through the user's scope)?

    An action that is not an ``Action`` raises ValueError: a typo must not read as a refusal.
    """
    action = Action(action)
    if not getattr(user, "is_authenticated", False):
        return False
    return RULES[action](user, obj)


def require(user: User | AnonymousUserMixin, action: Action | str, obj: object | None = None) -> None:
    """Raise ``Forbidden`` unless ``user`` may do ``action`` on ``obj``."""
    if not can(user, action, obj):
        raise Forbidden(Action(action))


# --- the one scope rule, and the scoped queries built on it ------------------------------------


def unit_scope(
    user: User, unit_column: SQLColumnExpression[int], ministry_id: int | None = None
) -> ColumnElement[bool]:
    """A SQL condition on a unit-id column: the user's own unit, the units of the user's ministry,
    or every unit (center, admin), optionally narrowed by those to one ministry."""
    if user.role in (CENTER, ADMIN):
        if ministry_id:
            return unit_column.in_(select(Unit.id).where(Unit.ministry_id == ministry_id))
        return true()
    if user.role == AGENCY:
        return unit_column == user.unit_id
    if user.role == MINISTRY:
        return unit_column.in_(select(Unit.id).where(Unit.ministry_id == user.ministry_id))
    return false()


HOME_PAGES = {AGENCY: "own", CENTER: "review", MINISTRY: "oversight", ADMIN: "list"}


def home_page(user: User) -> str:
    """Which home a role lands on: its own self-checks, the review queue, oversight, or the plain list."""
    return HOME_PAGES.get(user.role, "list")


def belongs_to_unit(user: User, unit_id: int) -> bool:
    """Is the user one of the unit's own contacts?"""
    return user.role == AGENCY and user.unit_id == unit_id


def bound_scope_name(user: User) -> str:
    """The name of the one unit or ministry a user is bound to (for headings); empty for center and admin."""
    if user.role == AGENCY and user.unit:
        return user.unit.name
    if user.role == MINISTRY and user.ministry:
        return user.ministry.name
    return ""


def own_ministry_id(user: User) -> int | None:
    """The ministry a user is bound to (ministry users), else None."""
    return user.ministry_id if user.role == MINISTRY else None


def scope_key(user: User, ministry_id: int | None = None) -> tuple:
    """What decides the units ``unit_scope`` covers, as a key for figures kept per scope."""
    if user.role in (CENTER, ADMIN):
        return ("ministry", ministry_id) if ministry_id else ("nation",)
    return (user.role, user.unit_id, user.ministry_id)


def scope_submissions(user: User, stmt: Select) -> Select:
    """Restrict a ``select(Submission)`` statement to what ``user`` may see."""
    return stmt.where(unit_scope(user, Submission.unit_id))


def scope_points(user: User, stmt: Select) -> Select:
    """Restrict a ``select(ImprovementPoint)`` to what ``user`` may see: drafts never leave the center."""
    if user.role == CENTER:
        return stmt
    stmt = stmt.where(ImprovementPoint.status != PointState.DRAFT)
    if user.role == ADMIN:
        return stmt
    return stmt.where(
        ImprovementPoint.submission_id.in_(select(Submission.id).where(unit_scope(user, Submission.unit_id)))
    )


def visible_hearing_states(user: User) -> tuple[HearingState, ...]:
    """The hearing states the user may see: candidates stay with the center."""
    if can(user, Action.HEARING_SEE_CANDIDATES):
        return tuple(HearingState)
    return HEARING_VISIBLE_OUTSIDE_CENTER


def scope_hearings(user: User, stmt: Select) -> Select:
    """Restrict a ``select(Hearing)``: candidates stay with the center; units and ministries see their own."""
    if not can(user, Action.HEARING_SEE_CANDIDATES):
        stmt = stmt.where(Hearing.status.in_(HEARING_VISIBLE_OUTSIDE_CENTER))
    return stmt.where(unit_scope(user, Hearing.unit_id))


def _found(row):
    if row is None:
        raise NotFound()
    return row


def get_hearing_or_404(user: User, hearing_id: int, action: Action = Action.HEARING_VIEW) -> Hearing:
    hearing = _found(db.session.scalar(scope_hearings(user, select(Hearing).where(Hearing.id == hearing_id))))
    require(user, action, hearing)
    return hearing


def get_point_or_404(user: User, point_id: int, action: Action = Action.POINT_VIEW) -> ImprovementPoint:
    stmt = scope_points(user, select(ImprovementPoint).where(ImprovementPoint.id == point_id))
    point = _found(db.session.scalar(stmt))
    require(user, action, point)
    return point


def get_request_or_404(user: User, request_id: int) -> ImprovementRequest:
    """An issued request is visible to whoever may see its submission."""
    request_row = _found(db.session.get(ImprovementRequest, request_id))
    get_submission_or_404(user, request_row.submission_id)
    return request_row


def require_oversight_scope(user: User, ministry_id: int | None) -> None:
    """Oversight of one ministry (or of all, ``None``): a ministry's division only of its own."""
    require(user, Action.OVERSIGHT_VIEW)
    own = own_ministry_id(user)
    if own is not None and ministry_id != own:
        raise Forbidden(Action.OVERSIGHT_ANY_MINISTRY)


def get_export_or_404(user: User, job_id: int) -> ExportJob:
    """An export made by the queue is the requester's own: anyone else gets 404."""
    job = _found(db.session.get(ExportJob, job_id))
    if job.user_id != user.id:
        raise NotFound()
    return job


def get_attachment_or_404(user: User, attachment_id: int) -> Attachment:
    """An attachment is visible to whoever may see its point."""
    row = _found(
        db.session.execute(
            select(Attachment, PointEvent.point_id)
            .join(PointEvent, PointEvent.id == Attachment.event_id)
            .where(Attachment.id == attachment_id)
        ).first()
    )
    get_point_or_404(user, row.point_id)
    return row.Attachment


_SUBMISSION_SAVE = (joinedload(Submission.cycle).joinedload(Cycle.version),)  # built once: options never change
_SUBMISSION_PAGE = (
    *_SUBMISSION_SAVE,
    joinedload(Submission.unit).joinedload(Unit.ministry),
    joinedload(Submission.submitted_by),
)


_submission_statements: dict = {}


def _submission_statement(user: User, page: bool) -> Select:
    """One submission by id within the user's scope, built once per scope (the autosave asks it every time)."""
    key = (page, scope_key(user))
    stmt = _submission_statements.get(key)
    if stmt is None:
        if len(_submission_statements) >= 4096:
            _submission_statements.clear()
        stmt = scope_submissions(user, select(Submission).where(Submission.id == bindparam("submission_id")))
        stmt = _submission_statements[key] = stmt.options(*(_SUBMISSION_PAGE if page else _SUBMISSION_SAVE))
    return stmt


def get_submission_or_404(
    user: User, submission_id: int, action: Action = Action.SUBMISSION_VIEW, *, page: bool = True
) -> Submission:
    """Fetch a submission the user may see (else NotFound) and may ``action`` (else Forbidden).

    With its cycle and checklist version (everything about it needs them) and, for a ``page``, the unit,
    ministry and submitter it names; the autosave, which names none of them, loads less.
    """
    submission = _found(db.session.scalar(_submission_statement(user, page), {"submission_id": submission_id}))
    require(user, action, submission)
    return submission


def get_unit_or_404(user: User, unit_id: int) -> Unit:
    """A unit the user may see (with its ministry loaded)."""
    stmt = select(Unit).where(Unit.id == unit_id, unit_scope(user, Unit.id)).options(joinedload(Unit.ministry))
    return _found(db.session.scalar(stmt))
