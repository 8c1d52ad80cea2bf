"""The design's boundaries, checked on the source: templates ask the policy and the lifecycle tables
instead of comparing roles or status strings, and services know nothing of HTTP."""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
SERVICES = ROOT / "agencyapp" / "services"

LITERAL = r"""(?:'[^']*'|"[^"]*"|\((?:\s*(?:'[^']*'|"[^"]*")\s*,?)+\))"""
TEMPLATE_RULES = {
    "compares current_user.role": re.compile(r"current_user\.role\s*(?:==|!=|\bnot\s+in\b|\bin\b)"),
    "compares a .status with a string": re.compile(
        rf"\.status\s*(?:==|!=|\bnot\s+in\b|\bin\b)\s*{LITERAL}|{LITERAL}\s*(?:==|!=)\s*[\w.]+\.status\b"
    ),
}
# What the business layer may not take from Flask: HTTP requests, responses and their helpers.
HTTP_NAMES = {"abort", "request", "session", "redirect", "url_for", "flash", "make_response", "Response", "jsonify"}


def template_violations(text):
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for what, rule in TEMPLATE_RULES.items():
            if rule.search(line):
                found.append(f"line {number}: {what}: {line.strip()}")
    return found


def http_imports(source):
    """Names a module takes from Flask's request handling (``from flask import abort``, ``flask.request``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("flask", "werkzeug"):
            found += [alias.name for alias in node.names if alias.name in HTTP_NAMES or node.module != "flask"]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "flask":
            found += [f"flask.{node.attr}"] if node.attr in HTTP_NAMES else []
    return found


@pytest.mark.parametrize(
    "line",
    [
        "{% if current_user.role == 'center' %}",
        "{% if current_user.role in ('ministry', 'admin') %}",
        "{% if hearing.status == 'held' %}",
        '{% if s.status in ("submitted", "accepted") %}',
        "{% if f.point.status != 'draft' %}",
        "{% if 'reported' == hearing.status %}",
        "{% if point.status not in ('closed',) %}",
    ],
)
def test_the_template_check_finds_a_role_or_status_comparison(line):
    assert template_violations(line)


@pytest.mark.parametrize(
    "line",
    [
        "{% if can(Action.HEARING_MANAGE, hearing) %}",
        "{% if may(point, 'answer') %}",
        '<span class="badge {{ p.state.badge }}">{{ p.state.label }}</span>',
        '<a class="event event--{{ h.status }}">',
        "{% set keep = {'status': filters.status or None} %}",
        "{% if code == filters.status %} selected{% endif %}",
    ],
)
def test_the_template_check_allows_asking_the_policy_and_the_tables(line):
    assert template_violations(line) == []


def test_no_template_compares_a_role_or_a_status_with_a_string():
    problems = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        found = template_violations(path.read_text(encoding="utf-8"))
        if found:
            problems[str(path.relative_to(ROOT))] = found
    assert problems == {}, "templates must ask can()/may() or the lifecycle tables instead"


def test_the_service_check_finds_flask_request_handling():
    assert http_imports("from flask import abort, current_app") == ["abort"]
    assert http_imports("import flask\nflask.request.remote_addr") == ["flask.request"]
    assert http_imports("from werkzeug.exceptions import NotFound") == ["NotFound"]
    assert http_imports("from flask import current_app, g") == []


def test_no_service_imports_flask_request_handling():
    problems = {}
    for path in sorted(SERVICES.glob("*.py")):
        found = http_imports(path.read_text(encoding="utf-8"))
        if found:
            problems[path.name] = found
    assert problems == {}, "services raise domain errors (agencyapp.errors); the web layer turns them into HTTP"


def test_no_service_commits():
    """Commits belong to the edge (agencyapp.unit_of_work): a service that commits cannot be combined."""
    offenders = [
        path.name for path in sorted(SERVICES.glob("*.py")) if re.search(r"\.commit\(\)", path.read_text("utf-8"))
    ]
    assert offenders == []


def test_the_policy_knows_no_http():
    assert http_imports((ROOT / "agencyapp" / "policy.py").read_text("utf-8")) == []
