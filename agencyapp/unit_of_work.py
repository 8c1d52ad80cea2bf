"""One action, one transaction: the outermost caller (a view, a CLI command) owns the commit.

Services change the session and never commit, so they combine: an action made
of several services is still one transaction, and a failure anywhere in it
rolls back all of it. Side effects that must not announce a change that was
rolled back (mail) wait in ``after_commit`` and run only once the commit succeeded.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import current_app, g, has_app_context, request

from agencyapp.extensions import db


def _list(name: str) -> list:
    if not has_app_context():
        return []
    if name not in g:
        setattr(g, name, [])
    return getattr(g, name)


def _pending() -> list:
    return _list("_after_commit")


def after_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` after the current unit of work commits; never when it rolls back."""
    _pending().append(callback)


def after_rollback(callback: Callable[[], object]) -> None:
    """Run ``callback`` if the current unit of work rolls back (undo what the database cannot: a stored file)."""
    _list("_after_rollback").append(callback)


def _discard() -> None:
    """The action failed: drop its side effects and undo what it did outside the database."""
    _pending().clear()
    undo = list(_list("_after_rollback"))
    _list("_after_rollback").clear()
    for callback in undo:
        try:
            callback()
        except Exception:
            current_app.logger.exception("after-rollback step failed")


def _run_pending() -> None:
    _list("_after_rollback").clear()
    callbacks = list(_pending())
    _pending().clear()
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a side effect never undoes a committed action
            current_app.logger.exception("after-commit step failed")


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit when the block ends; roll back everything (and drop its side effects) if it raises.

    ``with unit_of_work(): service.do(...)`` — a DomainError raised inside
    propagates after the rollback, for the view to show.
    """
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        _discard()
        raise
    _run_pending()


def pending_changes() -> list:
    """Objects changed in the session and not yet committed."""
    session = db.session
    return list(session.new) + list(session.deleted) + [o for o in session.dirty if session.is_modified(o)]


def init_app(app) -> None:
    """A response must not leave changes behind: they would be lost without a word when the session closes."""

    @app.after_request
    def _nothing_left_uncommitted(response):
        left = pending_changes()
        if left:
            what = ", ".join(sorted({type(o).__name__ for o in left}))
            app.logger.error(
                "request %s left uncommitted changes (%s): call services through unit_of_work", request.path, what
            )
            if app.testing:
                raise RuntimeError(f"{request.path} left uncommitted changes: {what}")
        return response
