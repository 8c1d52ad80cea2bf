"""Domain errors: what the business layer raises; the web layer turns them into responses.

Nothing here knows HTTP beyond the status a view should answer with.
"""


class DomainError(Exception):
    """A refused action; ``message`` is Japanese and is shown to the user as is."""

    status = 422

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class StaleError(DomainError):
    """Somebody saved the same object since this page was loaded."""

    status = 409


class LoginError(DomainError):
    status = 200


class Forbidden(Exception):
    """The user may see the object but not do this to it (403).

    Not a DomainError on purpose: a view that re-shows its form for a DomainError
    must not swallow a refusal of the policy.
    """

    status = 403

    def __init__(self, action, message="この操作を行う権限がありません。"):
        super().__init__(f"{action}: {message}")
        self.action = action
        self.message = message


class NotFound(Exception):
    """The object does not exist or lies outside the user's scope (404: no existence leak)."""

    status = 404
    message = "指定されたページは存在しないか、閲覧する権限がありません。"
