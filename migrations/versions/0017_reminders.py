"""Reminders from the center (督促): one row per unit and send, unique per unit, text and Japan day;
phrases for reminders beside those for findings

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reminder',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=True),
        sa.Column('selection', sa.String(length=32), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('message_sha', sa.String(length=64), nullable=False),
        sa.Column('sent_on', sa.Date(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.Column('sent_by_id', sa.Integer(), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_reminder_cycle_id_cycle')),
        sa.ForeignKeyConstraint(['sent_by_id'], ['user_account.id'], name=op.f('fk_reminder_sent_by_id_user_account')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_reminder_unit_id_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder')),
        sa.UniqueConstraint('unit_id', 'message_sha', 'sent_on', name=op.f('uq_reminder_unit_id_message_sha_sent_on')),
    )
    op.create_index(op.f('ix_reminder_unit_id'), 'reminder', ['unit_id'])
    op.create_index(op.f('ix_reminder_cycle_id'), 'reminder', ['cycle_id'])
    with op.batch_alter_table('phrase') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='finding'))


def downgrade():
    with op.batch_alter_table('phrase') as batch:
        batch.drop_column('kind')
    op.drop_index(op.f('ix_reminder_cycle_id'), table_name='reminder')
    op.drop_index(op.f('ix_reminder_unit_id'), table_name='reminder')
    op.drop_table('reminder')
