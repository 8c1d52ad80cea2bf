"""Last year's answers carried into a new self-check: each carried answer is marked until the contact
confirms or changes it; the self-check remembers which submission it started from

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('answer') as batch:
        batch.add_column(sa.Column('carried', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('submission') as batch:
        batch.add_column(sa.Column('carried_from_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f('fk_submission_carried_from_id_submission'), 'submission', ['carried_from_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('submission') as batch:
        batch.drop_constraint(op.f('fk_submission_carried_from_id_submission'), type_='foreignkey')
        batch.drop_column('carried_from_id')
    with op.batch_alter_table('answer') as batch:
        batch.drop_column('carried')
