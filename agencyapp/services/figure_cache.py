"""Figures over every overseen unit (totals, the attention and priority rankings, national means, trends)
are computed once per change of the data behind them, not once per request.

They are SQL aggregates over 2,000 units; computed per request they made the national dashboards cost
50–100 ms at 2,000 units × 10 years. Every change that can move them raises one counter in the same
transaction (``bump``: each lifecycle transition that changes a state, through ``workflow.apply``; a
new cycle or target; a unit added or switched off), and each process keeps the figures keyed by
that counter and by today's date (overdue figures change with the date). Several processes and hosts
stay consistent: each reads the counter from the shared database once per request.
"""

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import g, has_request_context
from sqlalchemy import select, update

from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from agencyapp.models.counter import ChangeCounter

COUNTER = "figures"
MAX_ENTRIES = 512
T = TypeVar("T")

_entries: OrderedDict = OrderedDict()


def bump() -> None:
    """The figures' data changed (in the caller's transaction): cached figures are stale once it commits."""
    result = db.session.execute(
        update(ChangeCounter).where(ChangeCounter.name == COUNTER).values(value=ChangeCounter.value + 1)
    )
    if result.rowcount == 0:  # a database made without the migration that creates the row
        db.session.add(ChangeCounter(name=COUNTER, value=1))
        db.session.flush()
    if has_request_context():
        g.pop("figures_version", None)


def version() -> int:
    """The counter, read once per request."""
    if has_request_context() and "figures_version" in g:
        return g.figures_version
    value = db.session.scalar(select(ChangeCounter.value).where(ChangeCounter.name == COUNTER)) or 0
    if has_request_context():
        g.figures_version = value
    return value


def cached(key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
    """``compute()``'s result for ``key`` as of the present counter and date, computed at most once."""
    full = (key, version(), today_tokyo())
    if full in _entries:
        _entries.move_to_end(full)
        return _entries[full]
    value = compute()
    _entries[full] = value
    while len(_entries) > MAX_ENTRIES:
        _entries.popitem(last=False)
    return value


def clear() -> None:
    _entries.clear()
