"""Users under row-level security: the application role sees a user (and their password
hash) only while the tenant it is scoped to has them as a member, and writes no user row.

A person may belong to several tenants, so a user row has no tenant of its own; adding an
existing person to a tenant needs to find them by email first. Two SECURITY DEFINER
functions, owned by the schema owner and executable by the application role only, do the
two things that must cross tenants, and return an id, never a hash:
``docflow_user_id(email)`` and ``docflow_create_user(id, email, password_hash)``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_SETTING = "current_setting('app.tenant_id', true)"
FUNCTIONS = ("docflow_user_id(text)", "docflow_create_user(uuid, text, text)")


def upgrade() -> None:
    # ENABLE, not FORCE: the functions below run as the table's owner and must see every
    # user; the application role, which owns nothing, is bound by the policy.
    op.execute("ALTER TABLE users ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY member_of_tenant ON users FOR SELECT USING (EXISTS ("
        "SELECT 1 FROM memberships m WHERE m.user_id = users.id "
        f"AND m.tenant_id::text = {TENANT_SETTING}))"
    )
    op.execute(
        """
        CREATE FUNCTION docflow_user_id(p_email text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
        AS $$ SELECT id FROM users WHERE email = p_email $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION docflow_create_user(p_id uuid, p_email text, p_password_hash text)
        RETURNS uuid
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
        AS $$
            INSERT INTO users (id, email, password_hash, created_at)
            VALUES (p_id, p_email, p_password_hash, now())
            ON CONFLICT (email) DO NOTHING;
            SELECT id FROM users WHERE email = p_email;
        $$
        """
    )
    role = str(context.config.attributes.get("app_role", "docflow_app"))
    grants = " ".join(
        f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC; "
        f'GRANT EXECUTE ON FUNCTION {function} TO "{role}"; '
        for function in FUNCTIONS
    )
    op.execute(
        sa.text(
            "DO $$ BEGIN "
            f"IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f'REVOKE INSERT, UPDATE, DELETE ON users FROM "{role}"; {grants}'
            "END IF; END $$"
        )
    )


def downgrade() -> None:
    role = str(context.config.attributes.get("app_role", "docflow_app"))
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute("DROP POLICY IF EXISTS member_of_tenant ON users")
    op.execute("ALTER TABLE users DISABLE ROW LEVEL SECURITY")
    op.execute(
        sa.text(
            "DO $$ BEGIN "
            f"IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f'GRANT INSERT, UPDATE, DELETE ON users TO "{role}"; '
            "END IF; END $$"
        )
    )
