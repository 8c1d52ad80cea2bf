"""Per-question answer labels (a controlling question names its own answers)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('checklist_question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_labels', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('checklist_question', schema=None) as batch_op:
        batch_op.drop_column('answer_labels')
