"""Monitoring: the profiles runs record, the checks against baselines, alerts, pinned baselines.

Four new tables; nothing existing changes, so a v1 history keeps its runs.

Revision ID: 0003_monitoring
Revises: 0002_liveness
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_monitoring"
down_revision = "0002_liveness"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nbprod_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notebook", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("check", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("delivery_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("nbprod_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_nbprod_alerts_created", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_nbprod_alerts_notebook_key", ["notebook", "key"], unique=False
        )

    op.create_table(
        "nbprod_baselines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notebook", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("nbprod_baselines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nbprod_baselines_notebook"), ["notebook"], unique=False
        )

    op.create_table(
        "nbprod_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("notebook", sa.Text(), nullable=False),
        sa.Column("baseline_run_id", sa.String(length=64), nullable=True),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("profile", sa.String(length=256), nullable=True),
        sa.Column("column", sa.String(length=256), nullable=True),
        sa.Column("metric", sa.String(length=256), nullable=True),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("statistic", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["nbprod_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("nbprod_checks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_nbprod_checks_notebook_key", ["notebook", "key"], unique=False
        )
        batch_op.create_index("ix_nbprod_checks_run", ["run_id"], unique=False)

    op.create_table(
        "nbprod_profiles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["nbprod_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "name", name="uq_nbprod_profiles_run_name"),
    )
    with op.batch_alter_table("nbprod_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nbprod_profiles_run_id"), ["run_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("nbprod_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nbprod_profiles_run_id"))

    op.drop_table("nbprod_profiles")
    with op.batch_alter_table("nbprod_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_nbprod_checks_run")
        batch_op.drop_index("ix_nbprod_checks_notebook_key")

    op.drop_table("nbprod_checks")
    with op.batch_alter_table("nbprod_baselines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nbprod_baselines_notebook"))

    op.drop_table("nbprod_baselines")
    with op.batch_alter_table("nbprod_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_nbprod_alerts_notebook_key")
        batch_op.drop_index("ix_nbprod_alerts_created")

    op.drop_table("nbprod_alerts")
