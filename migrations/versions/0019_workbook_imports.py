"""Excel files uploaded to a self-check: kept, previewed, applied

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'workbook_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('stored_name', sa.String(length=64), nullable=False),
        sa.Column('original_name', sa.String(length=255), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('changes', sa.Integer(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.Column('applied_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['submission_id'], ['submission.id'], name=op.f('fk_workbook_import_submission_id_submission')
        ),
        sa.ForeignKeyConstraint(
            ['uploaded_by_id'], ['user_account.id'], name=op.f('fk_workbook_import_uploaded_by_id_user_account')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workbook_import')),
    )
    op.create_index(op.f('ix_workbook_import_submission_id'), 'workbook_import', ['submission_id'])


def downgrade():
    op.drop_index(op.f('ix_workbook_import_submission_id'), table_name='workbook_import')
    op.drop_table('workbook_import')
