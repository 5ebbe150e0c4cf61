"""Section drafts: each finished section of a step, saved as it completes, so a retried
write resumes at the first unwritten section. Row-level security (ENABLE + FORCE).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_SETTING = "current_setting('app.tenant_id', true)"


def upgrade() -> None:
    op.create_table(
        "section_drafts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("write_key", sa.String(300), nullable=False),
        sa.Column("section_key", sa.String(100), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "write_key", "section_key"),
    )
    op.create_index(
        op.f("ix_section_drafts_project_id"), "section_drafts", ["project_id"], unique=False
    )
    op.execute("ALTER TABLE section_drafts ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE section_drafts FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON section_drafts "
        f"USING (tenant_id::text = {TENANT_SETTING}) "
        f"WITH CHECK (tenant_id::text = {TENANT_SETTING})"
    )
    role = str(context.config.attributes.get("app_role", "docflow_app"))
    op.execute(
        sa.text(
            "DO $$ BEGIN "
            f"IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON section_drafts TO "{role}"; '
            "END IF; END $$"
        )
    )


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS tenant_isolation ON section_drafts")
    op.drop_index(op.f("ix_section_drafts_project_id"), table_name="section_drafts")
    op.drop_table("section_drafts")
