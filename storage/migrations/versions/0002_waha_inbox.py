"""waha_inbox: WhatsApp events stored by the webhook, applied by the inbox worker

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 06:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('waha_inbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('chat', sa.String(length=120), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waha_inbox')),
    sa.UniqueConstraint('key', name=op.f('uq_waha_inbox_key'))
    )
    with op.batch_alter_table('waha_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_waha_inbox_pending', ['processed_at', 'id'], unique=False)
        batch_op.create_index('ix_waha_inbox_chat', ['chat', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('waha_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_waha_inbox_chat')
        batch_op.drop_index('ix_waha_inbox_pending')
    op.drop_table('waha_inbox')
