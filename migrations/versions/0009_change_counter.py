"""A change counter for the figures computed over every unit (cached per change, not per request)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    counter = op.create_table(
        'change_counter',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_change_counter')),
    )
    op.bulk_insert(counter, [{'name': 'figures', 'value': 0}])


def downgrade():
    op.drop_table('change_counter')
