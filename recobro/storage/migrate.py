"""Running the Alembic migrations from code (``recobro db upgrade``, tests, the demo)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade_to_head(url: str) -> None:
    """Apply every migration (synchronous; call it outside a running loop)."""
    command.upgrade(alembic_config(url), "head")


async def upgrade_engine(engine: AsyncEngine) -> None:
    """Apply every migration through an existing async engine (inside a running loop)."""

    def _up(connection: object) -> None:
        cfg = alembic_config(str(engine.url.render_as_string(hide_password=False)))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        await conn.run_sync(_up)


def run_upgrade(url: str) -> None:
    """``upgrade_to_head`` that also works when called from inside a running loop's thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        upgrade_to_head(url)
        return
    raise RuntimeError("run_upgrade called inside a running loop: use upgrade_engine")
