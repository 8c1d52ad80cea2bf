"""Login accounts with their role and scope."""

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencyapp.models.base import Base, UTCDateTime, utcnow
from agencyapp.models.org import Ministry, Unit

AGENCY, CENTER, MINISTRY, ADMIN = "agency", "center", "ministry", "admin"
ROLES = (AGENCY, CENTER, MINISTRY, ADMIN)
ROLE_LABELS = {
    AGENCY: "機関担当者",
    CENTER: "センター職員",
    MINISTRY: "省統括課",
    ADMIN: "システム管理者",
}


def new_session_token():
    return secrets.token_urlsafe(32)


class User(UserMixin, Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "(role = 'agency' AND unit_id IS NOT NULL AND ministry_id IS NULL)"
            " OR (role = 'ministry' AND ministry_id IS NOT NULL AND unit_id IS NULL)"
            " OR (role IN ('center', 'admin') AND unit_id IS NULL AND ministry_id IS NULL)",
            name="role_scope",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    login_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), default="")
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    ministry_id: Mapped[int | None] = mapped_column(ForeignKey("ministry.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(default=True)
    # An agency user who approves the unit's self-check before it is submitted (承認者, 決裁); a unit with
    # an active approver submits only what an approver approved.
    approver: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Set when an administrator sets the password: the user chooses their own at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Flask-Login keeps this token in the session cookie instead of the id:
    # rotating it (logout, password change, deactivation) kills every copy of the cookie.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship()
    ministry: Mapped[Ministry | None] = relationship()

    def get_id(self):
        return self.session_token

    @property
    def is_active(self):
        return self.active

    def rotate_session_token(self):
        self.session_token = new_session_token()

    @property
    def role_label(self):
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def scope_label(self):
        if self.role == AGENCY and self.unit:
            return self.unit.full_name
        if self.role == MINISTRY and self.ministry:
            return f"{self.ministry.name} 情報セキュリティ統括課"
        return "地方自治情報センター" if self.role == CENTER else "システム管理"


class LoginDevice(Base):
    """A browser that has signed in to this account with the right password (a "device cookie").

    Failed sign-ins from a known browser count against that browser only, so that somebody guessing
    passwords elsewhere cannot lock the owner out of the browser they use every day; the cookie holds
    a random token, the table only its SHA-256 (services/auth.py).
    """

    __tablename__ = "login_device"
    __table_args__ = (Index("ix_login_device_user_last_used", "user_id", "last_used_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
