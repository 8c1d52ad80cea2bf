"""Each notification's mail has a state (pending, sent, failed) and is sent by the task queue with retries

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification') as batch:
        batch.add_column(sa.Column('mail_state', sa.String(length=16), server_default='', nullable=False))
        batch.add_column(sa.Column('mail_attempts', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('mail_error', sa.String(length=500), server_default='', nullable=False))
        batch.add_column(sa.Column('mail_base_url', sa.String(length=255), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('notification') as batch:
        batch.drop_column('mail_base_url')
        batch.drop_column('mail_error')
        batch.drop_column('mail_attempts')
        batch.drop_column('mail_state')
