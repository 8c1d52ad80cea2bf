"""The number of SQL statements a request executed, as the response header ``X-SQL-Statements``.

For measuring (``make bench``), never for production: enabled by ``SQL_COUNT_HEADER`` in the
config or ``AGENCYAPP_SQL_COUNT_HEADER=1`` in the environment, and ignored (with a warning)
when ``ENV_NAME`` is production. When it is off nothing is attached to the engine.

Every statement sent through a cursor counts, on whichever connection of the app's engines
(the user loader, the page, the autosave's writes); the driver's own BEGIN and COMMIT do not
pass through a cursor and are not counted.
"""

import os

from flask import g, has_app_context
from sqlalchemy import event

from agencyapp.config import PRODUCTION
from agencyapp.extensions import db

HEADER = "X-SQL-Statements"
ENV_VAR = "AGENCYAPP_SQL_COUNT_HEADER"
_COUNTER = "_sql_statements"


def init_app(app):
    """Count statements per request and report them in a header, when enabled and not in production."""
    if "SQL_COUNT_HEADER" not in app.config:
        app.config["SQL_COUNT_HEADER"] = os.environ.get(ENV_VAR) == "1"
    if not app.config["SQL_COUNT_HEADER"]:
        return
    if app.config.get("ENV_NAME") == PRODUCTION:
        app.logger.warning("%s is for measuring only and is ignored in production", HEADER)
        app.config["SQL_COUNT_HEADER"] = False
        return
    with app.app_context():
        for engine in db.engines.values():
            event.listen(engine, "before_cursor_execute", _count)
    app.after_request(_report)


def _count(conn, cursor, statement, parameters, context, executemany):
    # g belongs to the app context, which Flask pushes per request; CLI commands count harmlessly.
    if has_app_context():
        setattr(g, _COUNTER, g.get(_COUNTER, 0) + 1)


def _report(response):
    response.headers[HEADER] = str(g.get(_COUNTER, 0))
    return response
