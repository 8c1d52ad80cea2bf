"""Entry point for `flask --app wsgi` and `gunicorn wsgi:app`."""

from agencyapp import create_app

app = create_app()
