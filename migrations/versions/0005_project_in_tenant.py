"""A project read in one round trip: ``project_in_tenant(tenant, project)``.

Every project-scoped request reads its project first. Through a tenant session that read
is four round trips (BEGIN, ``set_config``, the SELECT, COMMIT); this function sets the
tenant for row-level security and selects in the one statement's own transaction, so
the setting ends with the statement and never outlives it on a pooled connection. It
runs as its caller (SECURITY INVOKER): RLS applies to the application role as before,
and the query filters by the tenant itself too.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION project_in_tenant(p_tenant uuid, p_project uuid) "
        "RETURNS SETOF projects LANGUAGE plpgsql SECURITY INVOKER AS $$ "
        "BEGIN "
        "PERFORM set_config('app.tenant_id', p_tenant::text, true); "
        "RETURN QUERY SELECT * FROM projects WHERE tenant_id = p_tenant AND id = p_project; "
        "END $$"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION project_in_tenant(uuid, uuid)")
