"""Checklist revisions: permanent keys of goals, items and questions; drafts (document, based on);
the old -> new mapping between versions; questions flagged for revision

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('checklist_version') as batch:
        batch.add_column(sa.Column('based_on_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('source', sa.Text(), nullable=True))
        batch.add_column(sa.Column('published_at', sa.DateTime(), nullable=True))
        batch.create_foreign_key(
            op.f('fk_checklist_version_based_on_id_checklist_version'), 'checklist_version', ['based_on_id'], ['id']
        )
    for table in ('checklist_goal', 'checklist_item', 'checklist_question'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('key', sa.String(length=40), nullable=True))
    # The keys of what is already registered: from the official numbers, which never changed within a version.
    op.execute("UPDATE checklist_goal SET key = 'g' || CAST(number AS VARCHAR(16))")
    op.execute("UPDATE checklist_item SET key = 'i' || number")
    op.execute(
        "UPDATE checklist_question SET key = COALESCE("
        "(SELECT 'i' || checklist_item.number FROM checklist_item WHERE checklist_item.id = checklist_question.item_id),"
        "(SELECT 'g' || CAST(checklist_goal.number AS VARCHAR(16)) FROM checklist_goal"
        " WHERE checklist_goal.id = checklist_question.goal_id))"
    )
    for table in ('checklist_goal', 'checklist_item', 'checklist_question'):
        with op.batch_alter_table(table) as batch:
            batch.alter_column('key', existing_type=sa.String(length=40), nullable=False)
            batch.create_unique_constraint(op.f(f'uq_{table}_version_id_key'), ['version_id', 'key'])
    op.create_table(
        'checklist_mapping',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('old_version_id', sa.Integer(), nullable=False),
        sa.Column('new_version_id', sa.Integer(), nullable=False),
        sa.Column('old_key', sa.String(length=40), nullable=True),
        sa.Column('new_key', sa.String(length=40), nullable=True),
        sa.Column('change', sa.String(length=16), nullable=False),
        sa.Column('sense', sa.String(length=16), nullable=False),
        sa.Column('carry', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('similarity', sa.Float(), nullable=True),
        sa.Column('proposed', sa.Boolean(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['old_version_id'], ['checklist_version.id'],
                                name=op.f('fk_checklist_mapping_old_version_id_checklist_version')),
        sa.ForeignKeyConstraint(['new_version_id'], ['checklist_version.id'],
                                name=op.f('fk_checklist_mapping_new_version_id_checklist_version')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'],
                                name=op.f('fk_checklist_mapping_updated_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_mapping')),
    )
    op.create_index(op.f('ix_checklist_mapping_new_version_id'), 'checklist_mapping', ['new_version_id'])
    op.create_index(op.f('ix_checklist_mapping_old_version_id'), 'checklist_mapping', ['old_version_id'])
    op.create_table(
        'question_flag',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('question_key', sa.String(length=40), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('flagged_by_id', sa.Integer(), nullable=False),
        sa.Column('flagged_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['version_id'], ['checklist_version.id'],
                                name=op.f('fk_question_flag_version_id_checklist_version')),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_question_flag_cycle_id_cycle')),
        sa.ForeignKeyConstraint(['flagged_by_id'], ['user_account.id'],
                                name=op.f('fk_question_flag_flagged_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_question_flag')),
        sa.UniqueConstraint('version_id', 'question_key', name=op.f('uq_question_flag_version_id_question_key')),
    )


def downgrade():
    op.drop_table('question_flag')
    op.drop_index(op.f('ix_checklist_mapping_old_version_id'), table_name='checklist_mapping')
    op.drop_index(op.f('ix_checklist_mapping_new_version_id'), table_name='checklist_mapping')
    op.drop_table('checklist_mapping')
    for table in ('checklist_question', 'checklist_item', 'checklist_goal'):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f'uq_{table}_version_id_key'), type_='unique')
            batch.drop_column('key')
    with op.batch_alter_table('checklist_version') as batch:
        batch.drop_constraint(op.f('fk_checklist_version_based_on_id_checklist_version'), type_='foreignkey')
        batch.drop_column('published_at')
        batch.drop_column('source')
        batch.drop_column('based_on_id')
