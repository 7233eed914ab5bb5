"""Settings, read from the environment once (pydantic-settings). Every variable is in the README."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("contacts-api"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTACTS_API_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CONTACTS_API_DATABASE_URL")
    )
    data_dir: Path = Field(default_factory=_default_data_dir)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    pool_max_size: int = Field(default=10, ge=1)
    db_timeout: float = Field(default=5.0, gt=0, description="seconds for one query or connect")
    retry_after: int = Field(default=2, ge=1, description="Retry-After seconds on 503")
    apikey_cache_ttl: float = Field(
        default=0.5, ge=0, le=1.0, description="seconds a verified key is trusted in memory"
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"
    access_log: bool = True
    root_path: str = Field(default="", description="the public prefix a gateway strips")
    trusted_proxies: str = Field(
        default="", description="addresses whose X-Forwarded-For/-Proto are believed"
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
