"""Settings, read from the environment once (pydantic-settings). Every variable is in the README.

Any variable can instead name a file that holds its value, as `<NAME>_FILE` (Docker and
Kubernetes secrets): `DATABASE_URL_FILE=/run/secrets/database_url`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import AliasChoices, Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


class FileVariables(EnvSettingsSource):
    """`<NAME>_FILE` for any variable NAME the settings read: the file's content, stripped."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        for name in self._names(field, field_name):
            path = os.environ.get(name + "_FILE")
            if path:
                return Path(path).read_text(encoding="utf-8").strip(), name, False
        return None, field_name, False

    def _names(self, field: FieldInfo, field_name: str) -> list[str]:
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            return [str(choice) for choice in alias.choices]
        return [self.config.get("env_prefix", "").upper() + field_name.upper()]


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("contacts-api"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTACTS_API_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CONTACTS_API_DATABASE_URL")
    )
    # Migrations (and the CLI's user and key commands) connect here when set: straight to
    # PostgreSQL when DATABASE_URL names a pooler.
    migrations_database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "MIGRATIONS_DATABASE_URL", "CONTACTS_API_MIGRATIONS_DATABASE_URL"
        ),
    )
    db_pooler: Literal["none", "pgbouncer"] = Field(
        default="none", description="pgbouncer: DATABASE_URL is PgBouncer in transaction mode"
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
    tombstone_retention_days: float = Field(default=30, gt=0)
    idempotency_ttl_hours: float = Field(default=24, gt=0)
    maintenance_interval: float = Field(default=60, gt=0, description="seconds between rounds")
    root_path: str = Field(default="", description="the public prefix a gateway strips")
    trusted_proxies: str = Field(
        default="", description="addresses whose X-Forwarded-For/-Proto are believed"
    )
    metrics: bool = Field(default=True, description="serve Prometheus metrics at /metrics")
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="serve /metrics on this port (on CONTACTS_API_HOST) instead of the API's",
    )
    grace_period: int = Field(
        default=10,
        ge=0,
        description="seconds a stopping server gives requests in flight (streams included)",
    )
    keepalive_timeout: int = Field(
        default=5,
        ge=1,
        description="seconds an idle HTTP keep-alive connection stays open (a load balancer's "
        "idle timeout must be shorter)",
    )

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # CONTACTS_API_METRICS_PORT= (compose's `${CONTACTS_API_METRICS_PORT:-}`): not set.
        return None if value == "" else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, FileVariables(settings_cls), file_secret_settings

    @property
    def migration_url(self) -> str | None:
        return self.migrations_database_url or self.database_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
