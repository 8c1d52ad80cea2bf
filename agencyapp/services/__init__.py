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


def clean_text(value, label, required=True, limit=4000):
    """Form text with Windows line ends unified and ends trimmed; refused when missing or too long."""
    value = (value or "").replace("\r\n", "\n").strip()
    if required and not value:
        raise DomainError(f"{label}を入力してください。")
    if len(value) > limit:
        raise DomainError(f"{label}は{limit}文字以内で入力してください（現在{len(value)}文字）。")
    return value
