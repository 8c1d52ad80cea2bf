"""Internal approval (決裁) before submission: approvers among a unit's users, and each request for
approval with the content sent, its hash and the decision

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('approver', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'submission_approval',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('comment', sa.Text(), server_default='', nullable=False),
        sa.ForeignKeyConstraint(
            ['submission_id'], ['submission.id'], name=op.f('fk_submission_approval_submission_id_submission')
        ),
        sa.ForeignKeyConstraint(
            ['requested_by_id'], ['user_account.id'], name=op.f('fk_submission_approval_requested_by_id_user_account')
        ),
        sa.ForeignKeyConstraint(
            ['decided_by_id'], ['user_account.id'], name=op.f('fk_submission_approval_decided_by_id_user_account')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_approval')),
    )
    op.create_index(op.f('ix_submission_approval_submission_id'), 'submission_approval', ['submission_id'])


def downgrade():
    op.drop_index(op.f('ix_submission_approval_submission_id'), table_name='submission_approval')
    op.drop_table('submission_approval')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('approver')
