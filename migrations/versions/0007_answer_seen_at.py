"""When the center first opened an improvement point's answer (until then the agency may withdraw it)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('improvement_point', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_seen_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('improvement_point', schema=None) as batch_op:
        batch_op.drop_column('answer_seen_at')
