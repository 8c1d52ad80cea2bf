"""Small helpers every blueprint uses: pages, the cycle being looked at, running one action."""

from collections.abc import Callable

from flask import abort, current_app, flash, redirect, request, url_for

from agencyapp.htmx import hx_redirect, is_htmx
from agencyapp.inputs import ident
from agencyapp.services.cycles import cycles_to_choose
from agencyapp.unit_of_work import unit_of_work


def page_arg() -> int:
    """The page asked for (1 when missing or nonsense)."""
    return max(request.args.get("page", 1, type=ident) or 1, 1)


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` rows fill (at least one, so an empty list still has its page)."""
    return max(1, -(-total // per_page))


def per_page(factor: int = 1) -> int:
    return current_app.config["PAGE_SIZE"] * factor


def past_the_last_page(page: int, total: int, size: int):
    """A page number past the end of the list: a redirect to the last page, saying so; else None."""
    last = page_count(total, size)
    if page <= last:
        return None
    args = request.args.to_dict(flat=False)
    args["page"] = [str(last)]
    flash(f"{page}ページ目はありません（全{last}ページ、{total}件）。最後のページを表示しています。", "info")
    target = url_for(request.endpoint, **(request.view_args or {}), **args)
    return hx_redirect(target) if is_htmx() else redirect(target)


def chosen_cycle():
    """(every cycle, newest first; the one asked for by ``?cycle=`` or the newest). An unknown id is 404."""
    cycles = cycles_to_choose()
    wanted = request.values.get("cycle", type=ident)
    cycle = next((c for c in cycles if c.id == wanted), None) if wanted else (cycles[0] if cycles else None)
    if wanted and cycle is None:
        abort(404)
    return cycles, cycle


def run(call: Callable[..., object], *args, **kwargs):
    """One action, one transaction: ``call(*args, **kwargs)`` runs inside a unit of work and its
    result is returned. A DomainError it raises propagates after the rollback, for the view to show."""
    with unit_of_work():
        return call(*args, **kwargs)
