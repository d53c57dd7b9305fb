"""Settings from the environment (``RECOBRO_*``) with embedded defaults.

The defaults run the whole platform on one machine with nothing installed: a SQLite file,
the simulated PBX, the in-process bus. Production points them at PostgreSQL, Asterisk and
Redis. ``production = true`` refuses defaults that are only safe on a laptop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_AMI_SECRET = "recobro-dev-secret"  # noqa: S105  # refused when production = true
DEFAULT_JWT_SECRET = "recobro-dev-token-secret-change-me"  # noqa: S105  # refused in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECOBRO_", extra="ignore")

    production: bool = False
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: sqlite file under data_dir
    redis_url: str = ""  # empty: in-process bus
    telephony: Literal["sim", "asterisk"] = "sim"
    region: str = "MX"

    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    token_secret: str = DEFAULT_JWT_SECRET
    token_ttl_seconds: int = 12 * 3600

    ami_host: str = "127.0.0.1"
    ami_port: int = Field(5038, ge=1, le=65535)
    ami_user: str = "recobro"
    ami_secret: str = DEFAULT_AMI_SECRET
    ami_action_timeout: float = 5.0

    agi_host: str = "127.0.0.1"
    agi_port: int = Field(4573, ge=1, le=65535)
    # The IVR's prompts directory (<data_dir>/prompts) as Asterisk sees it, when Asterisk runs in a
    # chroot or a container; empty: the same path.
    ivr_pbx_prompts: str = ""

    sip_port: int = Field(5060, ge=1, le=65535)
    carrier_host: str = "127.0.0.1:5070"

    company_name: str = "Recobro Cobranza"
    callback_number: str = "+525555555555"

    @field_validator("region")
    @classmethod
    def _region_upper(cls, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 2 or not value.isalpha():
            raise ValueError("region must be an ISO 3166-1 alpha-2 country code, e.g. MX or US")
        return value

    @model_validator(mode="after")
    def _no_dev_secrets_in_production(self) -> Settings:
        if self.production:
            if self.ami_secret == DEFAULT_AMI_SECRET:
                raise ValueError("RECOBRO_AMI_SECRET must be set in production (the default is public)")
            if self.token_secret == DEFAULT_JWT_SECRET:
                raise ValueError("RECOBRO_TOKEN_SECRET must be set in production (the default is public)")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'recobro.sqlite3').resolve()}"


def load_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # fields come from the environment
