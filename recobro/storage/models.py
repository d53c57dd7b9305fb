"""The database schema (SQLAlchemy 2 declarative). Alembic migrations mirror it.

Times are stored timezone-aware in UTC. Money is ``Numeric(14, 2)`` read back as Decimal.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(14, 2, asdecimal=True)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive storage) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TZ = UtcDateTime()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class AccountRow(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_ref: Mapped[str] = mapped_column(String(100), unique=True)
    debtor_name: Mapped[str] = mapped_column(String(200))
    national_id: Mapped[str | None] = mapped_column(String(40))
    balance: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str | None] = mapped_column(String(100))
    risk_score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    language: Mapped[str] = mapped_column(String(2), default="es")
    state: Mapped[str | None] = mapped_column(String(10))
    region: Mapped[str] = mapped_column(String(2), default="MX")
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    pin_hash: Mapped[str | None] = mapped_column(String(200))  # inbound IVR identity check
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))  # of the imported fields: "unchanged" check
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)
    phones: Mapped[list[PhoneRow]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="PhoneRow.position"
    )


class PhoneRow(Base):
    __tablename__ = "phones"
    __table_args__ = (UniqueConstraint("account_id", "position", name="uq_phones_account_position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    e164: Mapped[str] = mapped_column(String(16), index=True)
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20), default="unknown")
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    time_zones: Mapped[list[Any]] = mapped_column(JSON, default=list)
    account: Mapped[AccountRow] = relationship(back_populates="phones")


class DncNumberRow(Base):
    """Numbers nobody may call (national registry, debtor's request, attorney)."""

    __tablename__ = "dnc_numbers"
    e164: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(TZ)


class PaymentRow(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_at: Mapped[datetime] = mapped_column(TZ)
    reference: Mapped[str] = mapped_column(String(100), default="")


class CampaignRow(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    mode: Mapped[str] = mapped_column(String(20), default="predictive")
    target_abandon_rate: Mapped[float] = mapped_column(Float, default=0.03)
    max_dial_ratio: Mapped[float] = mapped_column(Float, default=3.0)
    window_start: Mapped[str] = mapped_column(String(5), default="09:00")
    window_end: Mapped[str] = mapped_column(String(5), default="20:00")
    retry: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    required_skills: Mapped[list[Any]] = mapped_column(JSON, default=list)
    hopper_order: Mapped[str] = mapped_column(String(20), default="risk_desc")
    wrap_up_limit_seconds: Mapped[int] = mapped_column(Integer, default=60)
    promise_horizon_days: Mapped[int] = mapped_column(Integer, default=30)
    connect_within_seconds: Mapped[float] = mapped_column(Float, default=2.0)
    no_answer_timeout_seconds: Mapped[int] = mapped_column(Integer, default=25)
    amd_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    voicemail_message: Mapped[bool] = mapped_column(Boolean, default=True)
    company_name: Mapped[str] = mapped_column(String(100), default="Recobro")
    callback_number: Mapped[str] = mapped_column(String(16), default="+525555555555")
    script: Mapped[str] = mapped_column(Text, default="")
    abandon_message: Mapped[str] = mapped_column(Text, default="", server_default="")  # migration 0002
    routing_rule: Mapped[str] = mapped_column(String(30), default="skill_then_idle")
    overflow: Mapped[list[Any]] = mapped_column(JSON, default=list)
    paused: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZ)


class CampaignAccountRow(Base):
    """An account assigned to a campaign's list."""

    __tablename__ = "campaign_accounts"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)


class CampaignChangeRow(Base):
    """Every live change to a campaign: what, from, to, who, when."""

    __tablename__ = "campaign_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str] = mapped_column(String(200))
    new_value: Mapped[str] = mapped_column(String(200))
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(TZ)


class AgentRow(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="agent")
    password_hash: Mapped[str] = mapped_column(String(200))
    languages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    extension: Mapped[str | None] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    skills: Mapped[list[AgentSkillRow]] = relationship(cascade="all, delete-orphan")


class AgentSkillRow(Base):
    __tablename__ = "agent_skills"
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(String(100), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, default=5)


class CampaignAgentRow(Base):
    __tablename__ = "campaign_agents"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)


class AgentStateChangeRow(Base):
    __tablename__ = "agent_state_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(50), default="")
    at: Mapped[datetime] = mapped_column(TZ)


class CallRow(Base):
    """One attempt (outbound) or one inbound call, with every lifecycle timestamp."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_account_dialed", "account_id", "dialed_at"),
        Index("ix_calls_number_dialed", "number", "dialed_at"),
        Index("ix_calls_campaign_ended", "campaign_id", "ended_at"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the CallId
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    number: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(10), default="outbound")
    mode: Mapped[str] = mapped_column(String(20), default="predictive")
    state: Mapped[str] = mapped_column(String(20), default="queued")
    queued_at: Mapped[datetime | None] = mapped_column(TZ)
    dialed_at: Mapped[datetime | None] = mapped_column(TZ)
    ringing_at: Mapped[datetime | None] = mapped_column(TZ)
    answered_at: Mapped[datetime | None] = mapped_column(TZ)
    amd_at: Mapped[datetime | None] = mapped_column(TZ)
    amd_verdict: Mapped[str | None] = mapped_column(String(10))
    connected_at: Mapped[datetime | None] = mapped_column(TZ)
    ended_at: Mapped[datetime | None] = mapped_column(TZ)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    hangup_cause: Mapped[str | None] = mapped_column(String(20))
    cause_detail: Mapped[str] = mapped_column(String(100), default="")
    outcome: Mapped[str | None] = mapped_column(String(20))


class DispositionRow(Base):
    __tablename__ = "dispositions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    code: Mapped[str] = mapped_column(String(30))
    notes: Mapped[str] = mapped_column(Text, default="")
    callback_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)


class PromiseRow(Base):
    __tablename__ = "promises"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    disposition_id: Mapped[int | None] = mapped_column(ForeignKey("dispositions.id", ondelete="SET NULL"))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    promised_for: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    source: Mapped[str] = mapped_column(String(10), default="agent")  # agent | ivr
    created_at: Mapped[datetime] = mapped_column(TZ)


class CallbackRow(Base):
    __tablename__ = "callbacks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    number: Mapped[str | None] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(TZ, index=True)
    done: Mapped[bool] = mapped_column(Boolean, default=False)


class IvrEventRow(Base):
    """Every key press, prompt and outcome of an IVR call; identity digits are masked."""

    __tablename__ = "ivr_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(TZ)
    kind: Mapped[str] = mapped_column(String(20))  # dtmf | prompt | outcome | identity
    value: Mapped[str] = mapped_column(String(200), default="")


class SmsOutboxRow(Base):
    __tablename__ = "sms_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    to_number: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    created_at: Mapped[datetime] = mapped_column(TZ)
