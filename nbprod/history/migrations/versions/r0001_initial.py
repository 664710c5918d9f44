"""The history's schema as nbprod 0.1 created it (schema version 1).

A database made before Alembic managed the schema has these tables (maybe not
all of them: tables were added while the version stayed 1) and no
``alembic_version`` table; this revision creates only the tables missing, so
such a database goes through it like a new one and keeps its rows.

Revision ID: 0001_initial
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _when(table: str) -> bool:
    # pre-Alembic databases: keep what is there
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _when("nbprod_schema"):
        op.create_table(
            "nbprod_schema",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        # nbprod 0.1 reads this row and refuses a database newer than it knows
        op.execute("INSERT INTO nbprod_schema (id, version) VALUES (1, 1)")
    if _when("nbprod_batches"):
        op.create_table(
            "nbprod_batches",
            sa.Column("id", sa.String(64), nullable=False),
            sa.Column("notebook", sa.Text(), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("executor", sa.String(32), nullable=False),
            sa.Column("jobs", sa.Integer(), nullable=False),
            sa.Column("output_dir", sa.Text(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
    if _when("nbprod_jobs"):
        op.create_table(
            "nbprod_jobs",
            sa.Column("id", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("target", sa.String(64), nullable=True),
            sa.Column("pid", sa.Integer(), nullable=True),
            sa.Column("request", sa.JSON(), nullable=False),
            sa.Column("steps", sa.JSON(), nullable=False),
            sa.Column("result", sa.JSON(), nullable=False),
            sa.Column("error", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_nbprod_jobs_target", "nbprod_jobs", ["target"])
    if _when("nbprod_gate_reports"):
        op.create_table(
            "nbprod_gate_reports",
            sa.Column("id", sa.String(64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("ok", sa.Boolean(), nullable=False),
            sa.Column("summary", sa.Text(), nullable=False),
            sa.Column("duration", sa.Float(), nullable=False),
            sa.Column("git_commit", sa.String(64), nullable=True),
            sa.Column("report", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            "ix_nbprod_gate_reports_created_at", "nbprod_gate_reports", ["created_at"]
        )
    if _when("nbprod_runs"):
        op.create_table(
            "nbprod_runs",
            sa.Column("id", sa.String(64), nullable=False),
            sa.Column("batch_id", sa.String(64), nullable=True),
            sa.Column("position", sa.Integer(), nullable=True),
            sa.Column("notebook", sa.Text(), nullable=False),
            sa.Column("parameters", sa.JSON(), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("duration", sa.Float(), nullable=True),
            sa.Column("output_path", sa.Text(), nullable=True),
            sa.Column("error_cell", sa.Integer(), nullable=True),
            sa.Column("error_cell_id", sa.String(128), nullable=True),
            sa.Column("error_name", sa.Text(), nullable=True),
            sa.Column("error_value", sa.Text(), nullable=True),
            sa.Column("git_commit", sa.String(64), nullable=True),
            sa.Column("git_dirty", sa.Boolean(), nullable=True),
            sa.Column("kernel", sa.String(128), nullable=True),
            sa.Column("nbprod_version", sa.String(32), nullable=True),
            sa.Column("papermill_version", sa.String(32), nullable=True),
            sa.ForeignKeyConstraint(["batch_id"], ["nbprod_batches.id"]),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_nbprod_runs_batch", "nbprod_runs", ["batch_id"])
        op.create_index("ix_nbprod_runs_created", "nbprod_runs", ["created_at"])
        op.create_index("ix_nbprod_runs_notebook", "nbprod_runs", ["notebook"])
    if _when("nbprod_metrics"):
        op.create_table(
            "nbprod_metrics",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("run_id", sa.String(64), nullable=False),
            sa.Column("name", sa.String(256), nullable=False),
            sa.Column("value", sa.JSON(), nullable=False),
            sa.Column("number", sa.Float(), nullable=True),
            sa.ForeignKeyConstraint(["run_id"], ["nbprod_runs.id"]),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_nbprod_metrics_run_id", "nbprod_metrics", ["run_id"])


def downgrade() -> None:
    for table in (
        "nbprod_metrics",
        "nbprod_runs",
        "nbprod_gate_reports",
        "nbprod_jobs",
        "nbprod_batches",
        "nbprod_schema",
    ):
        op.drop_table(table)
