"""Calendars of hearings and visits: one hearing's .ics, and each user's signed feed (RFC 5545)."""

import hashlib
import hmac
from collections.abc import Iterable, Sequence

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import TOKYO
from agencyapp.lifecycles import HEARING_DATED
from agencyapp.models import Hearing, User


def feed_signature(user: User) -> str:
    """The secret part of a user's calendar feed URL; a password change makes a new one."""
    key = current_app.config["SECRET_KEY"].encode()
    message = f"calendar:{user.id}:{user.password_changed_at.isoformat()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def feed_user(user_id: int, signature: str | None) -> User | None:
    user = db.session.get(User, user_id)
    if user is None or not user.active or not hmac.compare_digest(feed_signature(user), signature or ""):
        return None
    return user


def calendar_hearings(user: User) -> Sequence[Hearing]:
    """Dated, not cancelled hearings the user may see (the staff member's own for the center)."""
    stmt = policy.scope_hearings(user, select(Hearing)).where(
        Hearing.starts_at.is_not(None), Hearing.status.in_(HEARING_DATED)
    )
    if policy.can(user, Action.HEARING_MANAGE):  # the center: the hearings this staff member runs
        stmt = stmt.where(Hearing.staff_id == user.id)
    return db.session.scalars(stmt.options(joinedload(Hearing.unit)).order_by(Hearing.starts_at)).unique().all()


def to_ics(hearings: Iterable[Hearing], name: str) -> bytes:
    """An iCalendar (RFC 5545) with Asia/Tokyo times and its VTIMEZONE."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//jukinet-selfcheck//hearings//JA")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Tokyo")
    host = "jukinet-selfcheck.invalid"
    for hearing in hearings:
        event = Event()
        event.add("uid", f"hearing-{hearing.id}@{host}")
        event.add("summary", f"{hearing.kind_label}：{hearing.unit.name}")
        event.add("dtstart", hearing.starts_at.astimezone(TOKYO))
        event.add("dtend", hearing.ends_at.astimezone(TOKYO))
        event.add("dtstamp", hearing.updated_at)
        if hearing.place:
            event.add("location", hearing.place)
        event.add("description", f"状況：{hearing.status_label}")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
