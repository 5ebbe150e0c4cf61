"""PostgreSQL storage: tables, tenant-scoped sessions and repositories."""
