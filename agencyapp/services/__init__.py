"""Workflows: each function checks the rules, writes the audit event and commits."""


class DomainError(Exception):
    """A refused action; ``message`` is Japanese and is shown to the user as is."""

    status = 422

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class StaleError(DomainError):
    """Somebody saved the same submission since this page was loaded."""

    status = 409


class LoginError(DomainError):
    status = 200


def contains(column, text):
    """A "contains" filter in which %, _ and \\ typed by the user are literal characters."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")
