"""Workflows: each function checks the rules, changes the session and writes the audit event.

Services never commit: the outermost caller does, once per action
(``agencyapp.unit_of_work``), so services combine into one transaction.
They know nothing of HTTP: refusals are the domain errors below.
"""

import unicodedata

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, or_, true

from agencyapp.errors import DomainError, Forbidden, LoginError, NotFound, StaleError

__all__ = [
    "DomainError",
    "Forbidden",
    "LoginError",
    "NotFound",
    "StaleError",
    "clean_text",
    "contains",
    "matches",
    "search_words",
]


def search_words(text: str | None) -> list[str]:
    """What a person typed, as words: NFKC (full-width letters, digits and the IME's full-width space become
    their plain forms), split on any white space."""
    return unicodedata.normalize("NFKC", text or "").split()


def contains(column: SQLColumnExpression[str], text: str) -> ColumnElement[bool]:
    """A "contains" filter (case-insensitive) in which %, _ and \\ typed by the user are literal characters."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def matches(text: str | None, *columns: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """The one search rule: every word typed must appear in at least one of ``columns``."""
    return and_(true(), *(or_(*(contains(column, word) for column in columns)) for word in search_words(text)))


def clean_text(value: str | None, label: str, required: bool = True, limit: int = 4000) -> str:
    """Form text with Windows line ends unified and ends trimmed; refused when missing or too long."""
    value = (value or "").replace("\r\n", "\n").strip()
    if required and not value:
        raise DomainError(f"{label}を入力してください。")
    if len(value) > limit:
        raise DomainError(f"{label}は{limit}文字以内で入力してください（現在{len(value)}文字）。")
    return value
