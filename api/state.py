"""What the API process holds for its lifetime."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from docflow.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    temporal: Client
