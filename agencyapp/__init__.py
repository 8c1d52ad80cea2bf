"""住基ネット セキュリティ自己点検システム: the application factory."""

import os
import sqlite3

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config=None):
    """Create the app: config, extensions, security, blueprints, errors, CLI."""
    app = Flask(
        __name__,
        instance_path=os.path.join(ROOT, "instance"),
        instance_relative_config=True,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    from agencyapp.config import load_config

    load_config(app, test_config)
    _trust_proxies(app)
    from agencyapp import inputs

    inputs.init_app(app)  # before any route is added: <int:…> is the app's id converter
    _init_extensions(app)
    _init_statement_count(app)
    _init_security(app)
    _init_templates(app)
    _register_blueprints(app)
    _register_errors(app)
    _register_cli(app)
    return app


def _trust_proxies(app):
    """Behind TRUSTED_PROXIES reverse proxies, the client is the one they name (ProxyFix)."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: enforce foreign keys, allow readers during a write; and, for a
    database of millions of rows, a 64 MB page cache and reads through a memory map instead of read()
    calls (the default 2 MB cache re-reads the same pages from the OS on every request)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=1073741824")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()


def _init_extensions(app):
    from agencyapp import models  # noqa: F401  (registers the tables)
    from agencyapp.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"))
    csrf.init_app(app)
    from agencyapp import unit_of_work

    unit_of_work.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)


def _init_statement_count(app):
    from agencyapp import statement_count  # X-SQL-Statements, for make bench only

    statement_count.init_app(app)


def _init_security(app):
    from agencyapp import security

    security.init_app(app)


def _init_templates(app):
    from agencyapp import formatting
    from agencyapp.services import notifications

    formatting.init_app(app)
    notifications.init_app(app)


def _register_blueprints(app):
    from agencyapp.views import (
        admin,
        audit,
        auth,
        checklists,
        cycles,
        dashboard,
        exports,
        health,
        hearings,
        improvements,
        notifications,
        organisations,
        oversight,
        reminders,
        reports,
        review,
        selfcheck,
    )

    for module in (
        auth,
        dashboard,
        health,
        selfcheck,
        review,
        improvements,
        hearings,
        oversight,
        notifications,
        audit,
        admin,
        cycles,
        checklists,
        reminders,
        reports,
        organisations,
        exports,
    ):
        app.register_blueprint(module.bp)


def _register_errors(app):
    from agencyapp.views import errors

    errors.init_app(app)


def _register_cli(app):
    from agencyapp import cli

    cli.init_app(app)
