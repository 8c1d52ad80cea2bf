"""Tiny helpers for answering htmx requests."""

from flask import make_response, request


def is_htmx():
    """A fragment is wanted: an htmx request that is neither boosted nor a history restore."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def hx_redirect(url, status=200):
    """Make htmx load a whole page (used instead of a 3xx that it would swap)."""
    response = make_response("", status)
    response.headers["HX-Redirect"] = url
    return response
