"""The year's close: earlier important items kept, late units, carried points, the frozen report

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04

"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submission') as batch:
        batch.add_column(sa.Column('earlier_met', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('earlier_below', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('late_at_close', sa.Boolean(), nullable=True))
    with op.batch_alter_table('cycle') as batch:
        batch.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='open'))
        batch.add_column(sa.Column('closed_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('closed_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_cycle_closed_by_id_user_account'), 'user_account', ['closed_by_id'], ['id'])
    with op.batch_alter_table('improvement_point') as batch:
        batch.add_column(sa.Column('carried_to_cycle_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f('fk_improvement_point_carried_to_cycle_id_cycle'), 'cycle', ['carried_to_cycle_id'], ['id']
        )
        batch.create_index(op.f('ix_improvement_point_carried_to_cycle_id'), ['carried_to_cycle_id'])
    op.create_table(
        'cycle_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('frozen_at', sa.DateTime(), nullable=False),
        sa.Column('frozen_by_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_cycle_report_cycle_id_cycle')),
        sa.ForeignKeyConstraint(
            ['frozen_by_id'], ['user_account.id'], name=op.f('fk_cycle_report_frozen_by_id_user_account')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cycle_report')),
        sa.UniqueConstraint('cycle_id', name=op.f('uq_cycle_report_cycle_id')),
    )


def downgrade():
    op.drop_table('cycle_report')
    with op.batch_alter_table('improvement_point') as batch:
        batch.drop_index(op.f('ix_improvement_point_carried_to_cycle_id'))
        batch.drop_constraint(op.f('fk_improvement_point_carried_to_cycle_id_cycle'), type_='foreignkey')
        batch.drop_column('carried_to_cycle_id')
    with op.batch_alter_table('cycle') as batch:
        batch.drop_constraint(op.f('fk_cycle_closed_by_id_user_account'), type_='foreignkey')
        batch.drop_column('closed_by_id')
        batch.drop_column('closed_at')
        batch.drop_column('status')
    with op.batch_alter_table('submission') as batch:
        batch.drop_column('late_at_close')
        batch.drop_column('earlier_below')
        batch.drop_column('earlier_met')
