"""Attached files in the database every host shares (file_blob); files kept so far in the default
directory (instance/attachments) are copied in

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

"""
import os
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    blobs = op.create_table(
        'file_blob',
        sa.Column('stored_name', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('stored_name', name=op.f('pk_file_blob')),
    )
    if current_app.config.get('ATTACHMENT_DIR'):
        return  # an operator's shared directory stays the storage
    directory = os.path.join(current_app.instance_path, 'attachments')
    bind = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    for (stored_name,) in bind.execute(sa.text('SELECT stored_name FROM attachment')).all():
        path = os.path.join(directory, os.path.basename(stored_name))
        if os.path.isfile(path):
            with open(path, 'rb') as handle:
                bind.execute(blobs.insert().values(stored_name=stored_name, data=handle.read(), created_at=now))


def downgrade():
    op.drop_table('file_blob')
