"""Per 大分類 figures of each submission's latest snapshot, and the indexes the lists need at national scale

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "submission_figure",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=16), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("full", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_submission_figure_submission_id_submission")
        ),
        sa.PrimaryKeyConstraint("submission_id", "category_code", name=op.f("pk_submission_figure")),
    )
    _backfill_figures()
    op.create_index("ix_notification_user_unread", "notification", ["user_id", "read_at"], unique=False)
    op.create_index("ix_audit_event_object", "audit_event", ["object_type", "object_id"], unique=False)


def _backfill_figures():
    """Figures of every submitted submission from its latest snapshot's stored scores.

    The snapshot keeps each 大分類's count, mean (2 decimals) and 満点率 (1 decimal); with fewer than
    100 answers in a 大分類 (the checklists have at most ~50) the points and full counts are recovered exactly.
    """
    bind = op.get_bind()
    snapshot = sa.table(
        "submission_snapshot",
        sa.column("submission_id", sa.Integer),
        sa.column("sequence", sa.Integer),
        sa.column("scores", sa.JSON),
    )
    submission = sa.table("submission", sa.column("id", sa.Integer), sa.column("score_mean", sa.Float))
    figure = sa.table(
        "submission_figure",
        sa.column("submission_id", sa.Integer),
        sa.column("category_code", sa.String),
        sa.column("answered", sa.Integer),
        sa.column("points", sa.Integer),
        sa.column("full", sa.Integer),
    )
    latest = (
        sa.select(snapshot.c.submission_id, sa.func.max(snapshot.c.sequence).label("sequence"))
        .group_by(snapshot.c.submission_id)
        .subquery()
    )
    rows = bind.execute(
        sa.select(snapshot.c.submission_id, snapshot.c.scores)
        .join(latest, (latest.c.submission_id == snapshot.c.submission_id) & (latest.c.sequence == snapshot.c.sequence))
        .join(submission, submission.c.id == snapshot.c.submission_id)
        .where(submission.c.score_mean.is_not(None))
    )
    batch = []
    for submission_id, scores in rows:
        for code, entry in (scores or {}).get("by_category", {}).items():
            count = entry.get("count") or 0
            if not count or entry.get("mean") is None:
                continue
            batch.append(
                {
                    "submission_id": submission_id,
                    "category_code": code,
                    "answered": count,
                    "points": round(entry["mean"] * count),
                    "full": round((entry.get("full_rate") or 0) * count / 100),
                }
            )
        if len(batch) >= 5000:
            bind.execute(figure.insert(), batch)
            batch = []
    if batch:
        bind.execute(figure.insert(), batch)


def downgrade():
    op.drop_index("ix_audit_event_object", table_name="audit_event")
    op.drop_index("ix_notification_user_unread", table_name="notification")
    op.drop_table("submission_figure")
