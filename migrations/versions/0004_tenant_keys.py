"""Encryption at rest: each tenant's data key, wrapped by the master key (ADR-013); the
JSON columns that hold written text become text, to hold ciphertext.

``tenant_keys`` has row-level security by tenant (ENABLE, not FORCE: the schema owner
re-wraps every tenant's key when the master key rotates) and no foreign key: a key is
made by the first session of an existing tenant, and outlives nothing it protects.
Columns already ``text`` (ideas, constraints, document bodies, agent errors) and ``bytea``
(exported ZIPs) keep their types: ciphertext carries a ``dfenc1:`` prefix, and values
written before stay readable as they are.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_SETTING = "current_setting('app.tenant_id', true)"
TEXT_FROM_JSON = (("document_versions", "quality"), ("section_drafts", "content"))


def upgrade() -> None:
    op.create_table(
        "tenant_keys",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kek_id", sa.String(32), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.execute("ALTER TABLE tenant_keys ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON tenant_keys "
        f"USING (tenant_id::text = {TENANT_SETTING}) "
        f"WITH CHECK (tenant_id::text = {TENANT_SETTING})"
    )
    for table, column in TEXT_FROM_JSON:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE text USING {column}::text")
    role = str(context.config.attributes.get("app_role", "docflow_app"))
    op.execute(
        sa.text(
            "DO $$ BEGIN "
            f"IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f'GRANT SELECT, INSERT ON tenant_keys TO "{role}"; '
            "END IF; END $$"
        )
    )


def downgrade() -> None:
    for table, column in TEXT_FROM_JSON:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE json USING {column}::json")
    op.drop_table("tenant_keys")
