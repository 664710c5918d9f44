"""Owner and heartbeat of batches and runs, for telling live work from dead work.

Also sets the ``nbprod_schema`` row to 2, so nbprod 0.1 (which knows neither
the owner columns nor the ``interrupted`` status) refuses this database
instead of misreading it.

Revision ID: 0002_liveness
Revises: 0001_initial
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_liveness"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TABLES = ("nbprod_batches", "nbprod_runs")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("owner_host", sa.String(255), nullable=True))
            batch.add_column(sa.Column("owner_pid", sa.Integer(), nullable=True))
            batch.add_column(sa.Column("owner_started", sa.Float(), nullable=True))
            batch.add_column(
                sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True)
            )
    op.execute("UPDATE nbprod_schema SET version = 2 WHERE id = 1")


def downgrade() -> None:
    op.execute("UPDATE nbprod_schema SET version = 1 WHERE id = 1")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in ("heartbeat_at", "owner_started", "owner_pid", "owner_host"):
                batch.drop_column(column)
