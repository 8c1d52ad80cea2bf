"""Known browsers for sign-in (device cookies): their failures count against themselves only

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_device',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=False),
        sa.Column('failed_login_count', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_login_device_user_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_device')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_login_device_token_hash')),
    )
    op.create_index('ix_login_device_user_last_used', 'login_device', ['user_id', 'last_used_at'], unique=False)


def downgrade():
    op.drop_index('ix_login_device_user_last_used', table_name='login_device')
    op.drop_table('login_device')
