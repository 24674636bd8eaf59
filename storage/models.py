"""The tables. Migrations in storage/migrations create them; the bot never calls create_all."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import Milli, UtcDateTime


class Base(DeclarativeBase):
    pass


class ResidentRow(Base):
    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="uk")
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    session: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AccountRow(Base):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("supplier", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(Text, default="")
    apartment: Mapped[str] = mapped_column(String(20), default="")
    last_payment: Mapped[Decimal | None] = mapped_column(Milli, nullable=True)


class MeterRow(Base):
    __tablename__ = "meters"
    __table_args__ = (UniqueConstraint("account_id", "serial", "zone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    serial: Mapped[str] = mapped_column(String(40))
    service: Mapped[str] = mapped_column(String(20))
    zone: Mapped[str] = mapped_column(String(8), default="")
    last_reading: Mapped[Decimal | None] = mapped_column(Milli, nullable=True)
    last_reading_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    verification_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    # set when a register import no longer lists the meter: kept with its readings, no longer asked for
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LinkRow(Base):
    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("resident_id", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReminderPreferenceRow(Base):
    __tablename__ = "reminder_preferences"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    supplier: Mapped[str] = mapped_column(String(20), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class LinkFailureRow(Base):
    __tablename__ = "link_failures"
    __table_args__ = (Index("ix_link_failures_number_at", "supplier", "number", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class LinkLockRow(Base):
    __tablename__ = "link_locks"

    supplier: Mapped[str] = mapped_column(String(20), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    locked_until: Mapped[datetime] = mapped_column(UtcDateTime)


class SubmissionRow(Base):
    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # readings are the supplier's billing records: forgetting a resident unlinks, never deletes them
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"), nullable=True,
                                                    index=True)
    period: Mapped[str] = mapped_column(String(7))
    channel: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReadingRow(Base):
    __tablename__ = "readings"
    __table_args__ = (
        # at most one accepted (and one pending) reading per meter per period
        Index("uq_readings_meter_period_accepted", "meter_id", "period", unique=True,
              sqlite_where=text("status = 'accepted'"), postgresql_where=text("status = 'accepted'")),
        Index("uq_readings_meter_period_pending", "meter_id", "period", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        Index("ix_readings_meter_period", "meter_id", "period"),
        Index("ix_readings_period_status", "period", "status"),
        Index("ix_readings_evidence", "evidence"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    value: Mapped[Decimal] = mapped_column(Milli)
    previous_value: Mapped[Decimal | None] = mapped_column(Milli, nullable=True)
    consumption: Mapped[Decimal | None] = mapped_column(Milli, nullable=True)
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12))
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # a replaced meter (kind 'replaced'): what the resident told of the new one
    new_serial: Mapped[str | None] = mapped_column(String(40), nullable=True)
    new_installed: Mapped[date | None] = mapped_column(Date, nullable=True)
    new_start: Mapped[Decimal | None] = mapped_column(Milli, nullable=True)


class PhotoRow(Base):
    """A kept meter photo (its bytes are in the photo store, by name); a reading's evidence names it."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # None once forgotten
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class PictureRow(Base):
    """A picture the bot sent through Viber (a history chart, a payment QR code): Viber fetches it by its URL,
    from whichever process the load balancer picks, so every process of the bot reads it from here. Its
    receiver is kept so that forget-me deletes the pictures sent to them."""

    __tablename__ = "pictures"
    __table_args__ = (Index("ix_pictures_receiver", "channel", "external_id"),)

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    png: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class InboundEventRow(Base):
    """Inbound event ids per channel: a redelivered update is recognised and handled once."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("channel", "event_id"),
        Index("ix_inbound_unhandled", "channel", "handled_at", "id"),
        Index("ix_inbound_claimed_by", "claimed_by"),
        Index("ix_inbound_chat", "channel", "chat"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)  # cleared once handled: it holds personal data
    # whose event it is, while it waits (cleared with the payload): a chat's later events wait for it
    chat: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # a process handles an event only while it holds the claim; a dead process's claims expire
    claimed_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(String(80), nullable=True)  # an error class, never a message
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # set aside, never retried alone


class OutboxRow(Base):
    """Replies waiting to be sent: claimed by one process at a time, deleted once settled.

    ``id`` is made by the writer and grows with time, so ordering by it keeps one chat's replies in
    the order their steps ran (even under a frozen clock). A row that cannot be sent is set aside
    (``status = 'failed'``), never deleted.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_claimable", "channel", "status", "id"),
                      Index("ix_outbox_chat", "channel", "chat_id", "id"),
                      Index("ix_outbox_claimed_by", "claimed_by"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # platform messages already sent
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(String(80), nullable=True)  # an error class or platform code
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    retried_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # the operator's retry


class ReminderRunRow(Base):
    """One reminder campaign: started, and finished once nobody due is left."""

    __tablename__ = "reminder_runs"

    supplier: Mapped[str] = mapped_column(String(20), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    campaign: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ReminderDeliveryRow(Base):
    """A reminder to one resident, recorded before it is sent: never twice, even across a crash."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (UniqueConstraint("resident_id", "supplier", "period", "campaign"),
                      Index("ix_reminder_deliveries_campaign", "supplier", "period", "campaign", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    supplier: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(7))
    campaign: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12))  # sending, sent, unreachable, failed, lost
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BillingEntryRow(Base):
    """A row of a supplier's billing file: a payment, a charge or a balance of an account, by its number.

    Not tied to the accounts table: an account the register does not hold yet keeps its rows. The unique key
    is the file row's natural key (core.payments), so a file imported again adds nothing.
    """

    __tablename__ = "billing_entries"
    __table_args__ = (UniqueConstraint("supplier", "number", "entry_date", "kind", "amount", "occurrence",
                                       name="uq_billing_entries_key"),
                      Index("ix_billing_entries_account", "supplier", "number", "entry_date"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(40))
    entry_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))  # payment, charge, balance
    amount: Mapped[Decimal] = mapped_column(Milli)  # hryvnias; a balance below zero is an overpayment
    occurrence: Mapped[int] = mapped_column(Integer)  # the n-th identical row of its file
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)
