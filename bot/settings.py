"""Configuration from KOMUNALKA_* environment variables (and a .env file)."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOMUNALKA_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///komunalka.db"
    suppliers_file: Path | None = None
    timezone: str = "Europe/Kyiv"
    # Freeze the bot's clock at this moment (ISO 8601 with offset): for demos and end-to-end tests only.
    clock: datetime | None = None
    log_level: str = "INFO"

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_secret: SecretStr | None = None
    public_url: str | None = None
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=0, le=65535)

    viber_token: SecretStr | None = None
    viber_name: str = "Komunalka"
    viber_avatar: str | None = None
    viber_api_url: str = "https://chatapi.viber.com/pa"

    reminder_days_before: int = Field(default=3, ge=0, le=20)
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(9, 0)
    telegram_rate: float = Field(default=30, gt=0, le=1000)  # messages a second in all
    telegram_chat_rate: float = Field(default=1, gt=0, le=10)  # messages a second to one chat
    viber_rate: float = Field(default=30, gt=0, le=1000)
    # where several processes share the send budget (rates above are per bot, not per process); without it a
    # PostgreSQL database holds it, and SQLite's one process keeps it in memory
    redis_url: SecretStr | None = None

    # meter photos (evidence beside a reading; see README "Meter photos")
    photo_dir: Path | None = None  # default: a "photos" folder beside the SQLite file, else ./photos
    photo_max_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024, le=20 * 1024 * 1024)  # Telegram's cap: 20 MB
    photo_fetch_timeout_seconds: float = Field(default=20, gt=0, le=300)
    photo_retention_days: int = Field(default=3 * 365, ge=1)  # `run_bot.py photos purge` removes older ones
    # Viber's media URLs are fetched only from public addresses; true only against a fake Viber on this machine
    viber_media_local: bool = False
    ocr: bool = True  # suggest the value read from a photo when the [ocr] extra is installed
    ocr_time_limit_seconds: float = Field(default=10, gt=0, le=120)
    # the operator's bearer token for GET /photos/NAME; without one, photos are not served over HTTP
    operator_token: SecretStr | None = None

    # the delivery pipeline
    outbox_max_age_hours: float = Field(default=24, gt=0, le=24 * 30)  # a reply not sent by then is set aside
    claim_lease_seconds: float = Field(default=30, ge=1, le=3600)  # a dead process's claims lapse after this
    loop_grace_seconds: float = Field(default=60, ge=1, le=3600)  # /healthz turns 503 when a loop fails longer

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; for example Europe/Kyiv") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None  # set but empty: not set
        if value is not None and not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("give a redis://, rediss:// or unix:// URL, e.g. redis://127.0.0.1:6379/0")
        return value

    @field_validator("clock")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the clock with an offset, e.g. 2026-11-20T12:00:00+02:00")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
