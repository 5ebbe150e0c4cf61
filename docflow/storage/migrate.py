"""Run Alembic migrations programmatically (used by ``docflow dev``, the demo and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def alembic_config(admin_url: str, app_role: str = "docflow_app") -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(ALEMBIC_INI.parent / "migrations"))
    config.attributes["url"] = admin_url
    config.attributes["app_role"] = app_role
    return config


def upgrade(admin_url: str, app_role: str = "docflow_app", revision: str = "head") -> None:
    command.upgrade(alembic_config(admin_url, app_role), revision)


def downgrade(admin_url: str, app_role: str = "docflow_app", revision: str = "base") -> None:
    command.downgrade(alembic_config(admin_url, app_role), revision)
