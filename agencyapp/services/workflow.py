"""Applying lifecycle transitions: the one function that changes a state.

``apply`` checks the policy and the state against the object's lifecycle
table (``agencyapp.lifecycles``), changes the state, and writes the
transition's audit event. A refusal raises ``Forbidden`` (policy) or a
``DomainError`` with the table's Japanese message, before anything changed.
"""

from sqlalchemy import inspect, update
from sqlalchemy.orm.attributes import set_committed_value

from agencyapp import policy
from agencyapp.errors import DomainError, StaleError
from agencyapp.extensions import db
from agencyapp.lifecycles import Lifecycle, State, Transition
from agencyapp.models import ChecklistVersion, Cycle, Hearing, ImprovementPoint, Submission, User
from agencyapp.services import figure_cache
from agencyapp.services.audit import record

Governed = Submission | ImprovementPoint | Hearing | ChecklistVersion | Cycle  # the models with a lifecycle table


def lifecycle_of(obj: Governed) -> Lifecycle:
    return type(obj).__lifecycle__


NO_LOCK = object()


def check(
    obj: Governed, name: str, user: User, *, lock_version: int | None | object = NO_LOCK, stale: str = ""
) -> Transition:
    """Raise unless ``user`` may apply transition ``name`` to ``obj`` in its present state.

    In order: the policy (Forbidden), the optimistic lock when ``lock_version``
    is given (StaleError with ``stale``), then the state (DomainError).
    """
    lifecycle = lifecycle_of(obj)
    transition = lifecycle.transition(name)
    policy.require(user, transition.action, obj)
    if lock_version is not NO_LOCK:
        check_lock(obj, lock_version, stale)
    state = lifecycle.state(obj.status)
    if state not in transition.sources:
        raise DomainError(transition.refused(lifecycle, state), transition=name, state=str(state))
    return transition


def permitted(user: User, obj: Governed, name: str) -> bool:
    """Would ``check`` pass? For pages: show a form only where its action would be accepted."""
    lifecycle = lifecycle_of(obj)
    transition = lifecycle.transition(name)
    return lifecycle.state(obj.status) in transition.sources and policy.can(user, transition.action, obj)


def apply(
    obj: Governed,
    name: str,
    user: User,
    *,
    summary: str,
    before: dict | None = None,
    after: dict | None = None,
    subject: object | None = None,
) -> State:
    """Apply transition ``name`` to ``obj`` as ``user``; returns the new state.

    The audit event records the state change (when there is one) with the
    caller's ``before``/``after`` details, about ``subject`` when the step made
    a new object (an improvement request), else about ``obj``; it joins the
    caller's transaction.
    """
    transition = check(obj, name, user)
    lifecycle = lifecycle_of(obj)
    state = lifecycle.state(obj.status)
    target = transition.target or state
    if target is not state:
        before = {"status": str(state), **(before or {})}
        after = {"status": str(target), **(after or {})}
        obj.status = str(target)
        if transition.moves_figures:
            figure_cache.bump()
    record(transition.event, actor=user, obj=subject or obj, summary=summary, before=before, after=after)
    return target


def check_lock(obj: Governed, lock_version: int | None, message: str) -> None:
    """Optimistic lock: the page must have been built from the object's present version."""
    if lock_version is None or lock_version != obj.lock_version:
        raise StaleError(message)


def _changed_columns(obj: Governed, values: dict) -> dict:
    state = inspect(obj)
    changed = {
        attr.key: history.added[0]
        for attr in state.mapper.column_attrs
        if (history := state.attrs[attr.key].history).added and attr.key != "lock_version"
    }
    return {**changed, **values}


def bump_lock(obj: Governed, **values: object) -> None:
    """Write ``values`` and the object's changed columns now and move its version on, whatever it is now
    (one UPDATE … RETURNING): for a change guarded by a finer lock (an answer's own version), after which
    a step on the whole object from an older page is still refused."""
    values = _changed_columns(obj, values)
    table = type(obj).__table__
    with db.session.no_autoflush:
        version = db.session.execute(
            update(table)
            .where(table.c.id == obj.id)
            .values(lock_version=table.c.lock_version + 1, **values)
            .returning(table.c.lock_version)
        ).scalar_one()
    for key, value in {"lock_version": version, **values}.items():
        set_committed_value(obj, key, value)


def advance_lock(obj: Governed, message: str, **values: object) -> None:
    """Write ``values`` and the object's changed columns now, with its optimistic lock: one UPDATE that
    moves the version on only if nobody did meanwhile, else StaleError with ``message`` (never a database
    error). The object then holds what was written, as if it had been loaded so."""
    values = _changed_columns(obj, values)
    table = type(obj).__table__  # a plain UPDATE: the ORM's own flush is what this replaces
    with db.session.no_autoflush:
        done = db.session.execute(
            update(table)
            .where(table.c.id == obj.id, table.c.lock_version == obj.lock_version)
            .values(lock_version=obj.lock_version + 1, **values)
        )
    if done.rowcount != 1:
        raise StaleError(message)
    for key, value in {"lock_version": obj.lock_version + 1, **values}.items():
        set_committed_value(obj, key, value)
