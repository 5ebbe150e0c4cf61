"""Clarifications: the answers to the description's clarifying questions, one version
per change, the question and the answer encrypted. Row-level security (ENABLE + FORCE).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_SETTING = "current_setting('app.tenant_id', true)"


def upgrade() -> None:
    op.create_table(
        "clarifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "project_id", "question_id", "version"),
    )
    op.create_index(
        op.f("ix_clarifications_project_id"), "clarifications", ["project_id"], unique=False
    )
    op.execute("ALTER TABLE clarifications ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE clarifications FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON clarifications "
        f"USING (tenant_id::text = {TENANT_SETTING}) "
        f"WITH CHECK (tenant_id::text = {TENANT_SETTING})"
    )
    role = str(context.config.attributes.get("app_role", "docflow_app"))
    op.execute(
        sa.text(
            "DO $$ BEGIN "
            f"IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON clarifications TO "{role}"; '
            "END IF; END $$"
        )
    )


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS tenant_isolation ON clarifications")
    op.drop_index(op.f("ix_clarifications_project_id"), table_name="clarifications")
    op.drop_table("clarifications")
