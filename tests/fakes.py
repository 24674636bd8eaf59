"""In-memory fakes of the core's storage ports, for fast tests of the conversation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import Decimal

from core.domain import Account, Meter, Reading, ReadingStatus
from core.events import ChatRef
from core.payments import Balance, BillingEntry, BillingKind
from core.periods import Period
from core.reminders import VERIFY_PERIOD, due_page
from core.ports import (
    Claim,
    DueResident,
    FailedRow,
    KeptSubmission,
    MissingMeter,
    PendingReplies,
    Receipt,
    Resident,
    RunState,
    Submission,
    UnitOfWork,
    VerificationDue,
)


@dataclass
class Store:
    """What a database would hold; a FakeUnitOfWork works on a copy and writes it back on commit."""

    residents: dict[ChatRef, dict] = field(default_factory=dict)
    accounts: dict[int, Account] = field(default_factory=dict)
    links: list[tuple[int, int]] = field(default_factory=list)
    failures: list[tuple[str, str, datetime]] = field(default_factory=list)
    locks: dict[tuple[str, str], datetime] = field(default_factory=dict)
    readings: list[Reading] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    disabled: set[tuple[int, str]] = field(default_factory=set)
    inbox: dict[tuple[str, str], bool] = field(default_factory=dict)
    outbox: dict[int, PendingReplies] = field(default_factory=dict)
    # what SQL keeps beside them: claims, set-aside state (a dict per row)
    inbox_rows: dict[tuple[str, str], dict] = field(default_factory=dict)
    outbox_rows: dict[int, dict] = field(default_factory=dict)
    campaign_runs: dict[tuple[str, str, str], RunState] = field(default_factory=dict)
    deliveries: dict[tuple[int, str, str, str], str] = field(default_factory=dict)  # (resident, sup, period, campaign)
    billing: list[BillingEntry] = field(default_factory=list)  # in import order, as SQL's ids go
    photos: dict[str, dict] = field(default_factory=dict)  # name -> resident_id, received_at (UTC)
    next_id: int = 1
    commits: int = 0

    def add_account(self, supplier: str, number: str, *, payment: str | None = "100.00", apartment: str = "5",
                    meters: list[dict] | None = None) -> Account:
        account_id = self._id()
        built = tuple(
            Meter(self._id(), account_id, m.get("serial", f"M{i}"), m["service"], m.get("zone", ""),
                  Decimal(m["last"]) if m.get("last") is not None else None, m.get("on"),
                  m.get("verification_due"))
            for i, m in enumerate(meters or [])
        )
        account = Account(account_id, supplier, number, "Kyiv, 1 Test St", apartment,
                          Decimal(payment) if payment is not None else None, built)
        self.accounts[account_id] = account
        return account

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def copy(self) -> Store:
        return replace(
            self, residents={k: json.loads(json.dumps(v)) for k, v in self.residents.items()},
            accounts=dict(self.accounts), links=list(self.links), failures=list(self.failures),
            locks=dict(self.locks), readings=list(self.readings), submissions=list(self.submissions),
            disabled=set(self.disabled), inbox=dict(self.inbox), outbox=dict(self.outbox),
            inbox_rows={k: dict(v) for k, v in self.inbox_rows.items()},
            outbox_rows={k: dict(v) for k, v in self.outbox_rows.items()},
            campaign_runs=dict(self.campaign_runs), deliveries=dict(self.deliveries), billing=list(self.billing),
            photos={k: dict(v) for k, v in self.photos.items()},
        )


class FakeUnitOfWork:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.committed = False

    async def __aenter__(self) -> FakeUnitOfWork:
        self.work = self.store.copy()
        self.residents = _Residents(self.work)
        self.accounts = _Accounts(self.work)
        self.link_attempts = _LinkAttempts(self.work)
        self.readings = _Readings(self.work)
        self.kept = _Kept(self.work)
        self.reminders = _Reminders(self.work)
        self.inbox = _Inbox(self.work)
        self.outbox = _Outbox(self.work)
        self.campaigns = _Campaigns(self.work)
        self.payments = _Payments(self.work)
        self.photos = _Photos(self.work)
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def commit(self) -> None:
        commits = self.store.commits
        self.store.__dict__.update(self.work.__dict__)
        self.store.commits = commits + 1
        self.committed = True


class _Residents:
    def __init__(self, s: Store) -> None:
        self.s = s

    async def prefetch(self, chats: list[ChatRef]) -> None:
        pass

    async def get_or_create(self, chat: ChatRef) -> Resident:
        row = self.s.residents.get(chat)
        if row is None:
            row = self.s.residents[chat] = {"id": self.s._id(), "language": "uk", "reachable": True, "session": {}}
            return Resident(row["id"], chat, "uk", True, {}, is_new=True)
        return Resident(row["id"], chat, row["language"], row["reachable"], json.loads(json.dumps(row["session"])))

    async def save(self, resident: Resident) -> None:
        self.s.residents[resident.chat] = {"id": resident.id, "language": resident.language,
                                           "reachable": resident.reachable,
                                           "session": json.loads(json.dumps(resident.session))}

    async def forget(self, resident_id: int) -> None:
        self.s.residents = {k: v for k, v in self.s.residents.items() if v["id"] != resident_id}
        self.s.links = [link for link in self.s.links if link[0] != resident_id]
        self.s.submissions = [replace(x, resident_id=None) if x.resident_id == resident_id else x
                              for x in self.s.submissions]
        self.s.readings = [replace(r, submitted_by=None) if r.submitted_by == resident_id else r
                           for r in self.s.readings]

    async def contact(self, resident_id: int) -> tuple[ChatRef, str] | None:
        return next(((chat, row["language"]) for chat, row in self.s.residents.items() if row["id"] == resident_id),
                    None)

    async def set_reachable(self, chat: ChatRef, reachable: bool) -> None:
        if chat in self.s.residents:
            self.s.residents[chat]["reachable"] = reachable


class _Accounts:
    def __init__(self, s: Store) -> None:
        self.s = s

    async def find(self, supplier: str, number: str) -> Account | None:
        return next((a for a in self.s.accounts.values() if a.supplier == supplier and a.number == number), None)

    async def linked(self, resident_id: int) -> list[Account]:
        return [self.s.accounts[a] for r, a in self.s.links if r == resident_id]

    async def link(self, resident_id: int, account_id: int, at: datetime) -> bool:
        if (resident_id, account_id) in self.s.links:
            return False
        self.s.links.append((resident_id, account_id))
        return True

    async def unlink(self, resident_id: int, account_id: int) -> None:
        self.s.links = [link for link in self.s.links if link != (resident_id, account_id)]


class _LinkAttempts:
    def __init__(self, s: Store) -> None:
        self.s = s

    async def failures_since(self, supplier: str, number: str, since: datetime) -> int:
        return sum(1 for f in self.s.failures if f[:2] == (supplier, number) and f[2] > since)

    async def record_failure(self, supplier: str, number: str, at: datetime) -> None:
        self.s.failures.append((supplier, number, _utc(at)))

    async def locked_until(self, supplier: str, number: str) -> datetime | None:
        return self.s.locks.get((supplier, number))

    async def lock(self, supplier: str, number: str, until: datetime) -> None:
        self.s.locks[(supplier, number)] = _utc(until)


class _Readings:
    def __init__(self, s: Store) -> None:
        self.s = s

    def _accepted(self, meter_id: int) -> list[Reading]:
        return sorted((r for r in self.s.readings if r.meter_id == meter_id and r.status is ReadingStatus.ACCEPTED),
                      key=lambda r: r.period, reverse=True)

    async def previous(self, meter_id: int, before: Period) -> Reading | None:
        earlier = [r for r in self._accepted(meter_id) if r.period < before]
        return earlier[0] if earlier else None

    async def recent_consumption(self, meter_id: int, before: Period, count: int) -> list[Decimal]:
        return [r.consumption for r in self._accepted(meter_id)
                if r.period < before and r.consumption is not None][:count]

    async def in_period(self, meter_ids: list[int], period: Period) -> list[Reading]:
        return [r for r in self.s.readings if r.meter_id in meter_ids and r.period == period
                and r.status in (ReadingStatus.ACCEPTED, ReadingStatus.PENDING)]

    async def submit(self, submission: Submission) -> int:
        ids = {r.meter_id for r in submission.readings}
        replaced = 0
        kept = []
        for r in self.s.readings:
            if r.meter_id in ids and r.period == submission.period and r.status in (ReadingStatus.ACCEPTED,
                                                                                     ReadingStatus.PENDING):
                r = replace(r, status=ReadingStatus.REPLACED)
                replaced += 1
            kept.append(r)
        at = submission.submitted_at.astimezone(timezone.utc)  # as the database gives it back
        kept += [Reading(n.meter_id, submission.period, n.value, n.previous_value, n.consumption, n.kind,
                         submission.status, at, submission.channel, submission.reference,
                         at if submission.status is ReadingStatus.ACCEPTED else None, submission.resident_id,
                         new_serial=n.new_serial, new_installed=n.new_installed, new_start=n.new_start)
                 for n in submission.readings]
        self.s.readings = kept
        self.s.submissions.append(submission)
        return replaced

    async def history(self, meter_id: int, periods: int) -> list[Reading]:
        return self._accepted(meter_id)[:periods]

    async def submissions(self, resident_id: int | None, account_ids: list[int], limit: int) -> list[Receipt]:
        mine = [(x.submitted_at, n, x) for n, x in enumerate(self.s.submissions)
                if (resident_id is not None and x.resident_id == resident_id) or x.account_id in account_ids]
        return [self._receipt(x) for _, _, x in sorted(mine, key=lambda m: m[:2], reverse=True)[:limit]]

    async def by_reference(self, reference: str) -> Receipt | None:
        return next((self._receipt(x) for x in self.s.submissions if x.reference == reference), None)

    def _receipt(self, x: Submission) -> Receipt:
        return Receipt(x.reference, self.s.accounts[x.account_id], x.resident_id, x.period,
                       x.submitted_at.astimezone(timezone.utc),  # as the database gives it back
                       tuple(r for r in self.s.readings if r.reference == x.reference))


class _Kept:
    """Kept readings; a submission's id is its place in the store's list, from 1, as a database would count."""

    def __init__(self, s: Store) -> None:
        self.s = s

    def _supplier_of(self, submission: Submission) -> str:
        return self.s.accounts[submission.account_id].supplier

    def _kept(self, submission: Submission) -> list[Reading]:
        return [r for r in self.s.readings
                if r.reference == submission.reference and r.status is ReadingStatus.PENDING]

    async def periods(self) -> list[Period]:
        return sorted({x.period for x in self.s.submissions if self._kept(x)})

    async def pending(self, supplier: str, period: Period, after: int, limit: int) -> list[KeptSubmission]:
        chats = {row["id"]: (chat, row["language"]) for chat, row in self.s.residents.items()}
        found = []
        for number, x in enumerate(self.s.submissions, start=1):
            kept = self._kept(x)
            if number <= after or not kept or x.period != period or self._supplier_of(x) != supplier:
                continue
            chat, language = chats.get(x.resident_id, (None, "uk"))
            found.append(KeptSubmission(number, x.reference, x.account_id, self.s.accounts[x.account_id].number,
                                        x.period, chat, language, len(kept)))
        return found[:limit]

    async def hand_in(self, submission_id: int, at: datetime) -> int:
        return self._settle(submission_id, ReadingStatus.ACCEPTED, at.astimezone(timezone.utc))

    async def expire(self, submission_id: int) -> int:
        return self._settle(submission_id, ReadingStatus.EXPIRED, None)

    def _settle(self, submission_id: int, status: ReadingStatus, accepted_at: datetime | None) -> int:
        reference = self.s.submissions[submission_id - 1].reference
        changed = 0
        readings = []
        for r in self.s.readings:
            if r.reference == reference and r.status is ReadingStatus.PENDING:
                r = replace(r, status=status, accepted_at=accepted_at)
                changed += 1
            readings.append(r)
        self.s.readings = readings
        return changed


class _Reminders:
    def __init__(self, s: Store) -> None:
        self.s = s

    async def disabled(self, resident_id: int) -> set[str]:
        return {sup for r, sup in self.s.disabled if r == resident_id}

    async def set_enabled(self, resident_id: int, supplier: str, enabled: bool) -> None:
        (self.s.disabled.discard if enabled else self.s.disabled.add)((resident_id, supplier))


class _Inbox:
    def __init__(self, s: Store) -> None:
        self.s = s

    async def prefetch(self, channel: str, event_ids: list[str]) -> None:
        pass

    async def record_many(self, channel: str, events: list[tuple[str, str]], at: datetime,
                          claim: Claim | None = None, chats: Mapping[str, str] | None = None) -> set[str]:
        new = set()
        for event_id, payload in events:
            if (channel, event_id) not in self.s.inbox:
                self.s.inbox[(channel, event_id)] = False
                self.s.inbox_rows[(channel, event_id)] = {
                    "payload": payload, "chat": (chats or {}).get(event_id), "received_at": _utc(at),
                    "claimed_by": claim.owner if claim else None,
                    "claimed_until": _utc(claim.until) if claim else None, "failed_at": None, "error": None,
                    "attempts": 0}
                new.add(event_id)
        return new

    async def mark_handled(self, channel: str, event_id: str, at: datetime) -> bool:
        if self.s.inbox.get((channel, event_id)):
            return False
        self.s.inbox[(channel, event_id)] = True
        self.s.inbox_rows.setdefault((channel, event_id), {"received_at": _utc(at), "failed_at": None})
        self.s.inbox_rows[(channel, event_id)].update(payload=None, chat=None)
        return True

    async def waiting(self, channel: str, chats: list[str]) -> list[tuple[str, str]]:
        return [(row["chat"], e) for (c, e), row in self.s.inbox_rows.items()  # dicts keep the order recorded
                if c == channel and row.get("chat") in chats and not self.s.inbox.get((c, e))
                and row.get("failed_at") is None]

    async def claim(self, channel: str, claim: Claim, now: datetime, limit: int) -> list[tuple[str, str]]:
        taken = []
        for (c, e), row in self.s.inbox_rows.items():
            if (c != channel or self.s.inbox.get((c, e)) or row["failed_at"] is not None
                    or (row["claimed_until"] is not None and row["claimed_until"] >= now)):
                continue
            row.update(claimed_by=claim.owner, claimed_until=_utc(claim.until))
            taken.append((e, row["payload"] or ""))
            if len(taken) == limit:
                break
        return taken

    async def set_aside(self, channel: str, event_id: str, error: str, attempts: int, at: datetime) -> None:
        row = self.s.inbox_rows.setdefault((channel, event_id), {"received_at": _utc(at), "payload": None})
        row.update(failed_at=_utc(at), error=error, attempts=attempts, claimed_by=None, claimed_until=None)

    async def failed(self, limit: int) -> list[FailedRow]:
        return [FailedRow(e, c, r["received_at"], r["failed_at"], r["attempts"], r["error"])
                for (c, e), r in self.s.inbox_rows.items() if r.get("failed_at") is not None][:limit]

    async def renew(self, claim: Claim, event_ids: list[str]) -> None:
        for (_, e), row in self.s.inbox_rows.items():
            if e in event_ids and row.get("claimed_by") == claim.owner:
                row["claimed_until"] = _utc(claim.until)

    async def release(self, owner: str) -> None:
        for row in self.s.inbox_rows.values():
            if row.get("claimed_by") == owner:
                row.update(claimed_by=None, claimed_until=None)

    async def release_all(self) -> None:
        for row in self.s.inbox_rows.values():
            row.update(claimed_by=None, claimed_until=None)


def _utc(moment: datetime) -> datetime:
    """As the database gives it back: in UTC."""
    return moment.astimezone(timezone.utc)


class _Outbox:
    def __init__(self, s: Store) -> None:
        self.s = s

    async def add(self, chat: ChatRef, language: str, body: str, at: datetime, claim: Claim | None = None) -> int:
        entry = PendingReplies(self.s._id(), chat, language, body, 0, 0, _utc(at))
        self.s.outbox[entry.id] = entry
        self.s.outbox_rows[entry.id] = {"status": "pending", "created_at": _utc(at), "failed_at": None, "error": None,
                                        "claimed_by": claim.owner if claim else None,
                                        "claimed_until": _utc(claim.until) if claim else None}
        return entry.id

    async def done(self, ids: list[int]) -> None:
        for i in ids:
            self.s.outbox.pop(i, None)
            self.s.outbox_rows.pop(i, None)

    def _waiting(self, channel: str) -> list[PendingReplies]:
        return sorted((e for e in self.s.outbox.values()
                       if e.chat.channel == channel and self.s.outbox_rows[e.id]["status"] == "pending"),
                      key=lambda e: e.id)

    async def claim(self, channel: str, claim: Claim, now: datetime, limit: int) -> list[PendingReplies]:
        taken = []
        held_chats = set()  # chats with a reply another live process is still sending
        for entry in self._waiting(channel):
            row = self.s.outbox_rows[entry.id]
            live = row["claimed_until"] is not None and row["claimed_until"] >= now
            if live and row["claimed_by"] != claim.owner:
                held_chats.add(entry.chat)
            if live or entry.chat in held_chats:
                continue
            row.update(claimed_by=claim.owner, claimed_until=_utc(claim.until))
            taken.append(entry)
            if len(taken) == limit:
                break
        return taken

    async def record_attempt(self, row_id: int, progress: int, error: str) -> None:
        entry = self.s.outbox[row_id]
        self.s.outbox[row_id] = replace(entry, progress=progress, attempts=entry.attempts + 1)
        self.s.outbox_rows[row_id]["error"] = error

    async def set_aside(self, row_id: int, error: str, at: datetime, progress: int | None = None) -> None:
        if progress is not None:
            self.s.outbox[row_id] = replace(self.s.outbox[row_id], progress=progress)
        self.s.outbox_rows[row_id].update(status="failed", error=error, failed_at=_utc(at), claimed_by=None,
                                          claimed_until=None)

    async def failed(self, limit: int) -> list[FailedRow]:
        return [FailedRow(str(i), self.s.outbox[i].chat.channel, r["created_at"], r["failed_at"],
                          self.s.outbox[i].attempts, r["error"])
                for i, r in sorted(self.s.outbox_rows.items()) if r["status"] == "failed"][:limit]

    async def retry(self, ids: list[int] | None, at: datetime) -> int:
        count = 0
        for i, row in self.s.outbox_rows.items():
            if row["status"] == "failed" and (ids is None or i in ids):
                row.update(status="pending", failed_at=None, claimed_by=None, claimed_until=None)
                self.s.outbox[i] = replace(self.s.outbox[i], attempts=0, since=_utc(at))
                count += 1
        return count

    async def renew(self, claim: Claim, ids: list[int]) -> None:
        for i in ids:
            row = self.s.outbox_rows.get(i)
            if row is not None and row["claimed_by"] == claim.owner:
                row["claimed_until"] = _utc(claim.until)

    async def release(self, owner: str) -> None:
        for row in self.s.outbox_rows.values():
            if row["claimed_by"] == owner:
                row.update(claimed_by=None, claimed_until=None)

    async def release_all(self) -> None:
        for row in self.s.outbox_rows.values():
            row.update(claimed_by=None, claimed_until=None)

    async def pending(self, channel: str, limit: int) -> list[PendingReplies]:
        return self._waiting(channel)[:limit]


class _Campaigns:
    """Campaign runs and deliveries, with the due rules the SQL store's query has."""

    def __init__(self, s: Store) -> None:
        self.s = s

    async def run_state(self, supplier: str, period: Period, campaign: str) -> RunState | None:
        return self.s.campaign_runs.get((supplier, str(period), campaign))

    async def start_run(self, supplier: str, period: Period, campaign: str, at: datetime) -> None:
        self.s.campaign_runs.setdefault((supplier, str(period), campaign), RunState(_utc(at), None))

    async def finish_run(self, supplier: str, period: Period, campaign: str, at: datetime) -> None:
        key = (supplier, str(period), campaign)
        self.s.campaign_runs[key] = RunState(self.s.campaign_runs[key].started_at, _utc(at))

    async def settle_in_flight(self, supplier: str, period: Period, campaign: str) -> int:
        lost = [k for k, state in self.s.deliveries.items() if k[1:] == (supplier, str(period), campaign)
                and state == "sending"]
        for key in lost:
            self.s.deliveries[key] = "lost"
        return len(lost)

    def _rows(self, supplier: str, period: Period, campaign: str, today: date, channels: list[str]):
        submitted = {r.meter_id for r in self.s.readings if r.period == period
                     and r.status in (ReadingStatus.ACCEPTED, ReadingStatus.PENDING)}
        residents = sorted((row["id"], chat, row) for chat, row in self.s.residents.items())
        for resident_id, chat, row in residents:
            if (not row["reachable"] or chat.channel not in channels or (resident_id, supplier) in self.s.disabled
                    or self.s.deliveries.get((resident_id, supplier, str(period), campaign), "retry") != "retry"):
                continue
            for linked_resident, account_id in self.s.links:
                account = self.s.accounts[account_id]
                if linked_resident != resident_id or account.supplier != supplier:
                    continue
                for meter in sorted(account.meters, key=lambda m: m.id):
                    if meter.id not in submitted and not meter.lapsed(today):
                        yield resident_id, chat, row["language"], account, meter

    async def due_residents(self, supplier: str, period: Period, campaign: str, today: date, after: int, limit: int,
                            channels: list[str]) -> list[DueResident]:
        rows = [r for r in self._rows(supplier, period, campaign, today, channels) if r[0] > after][:limit]
        return due_page([(resident_id, chat, language, account.id, account.number, account.address, account.apartment,
                          MissingMeter(meter.serial, meter.service, meter.zone))
                         for resident_id, chat, language, account, meter in rows], limit)

    async def count_due(self, supplier: str, period: Period, campaign: str, today: date, channels: list[str]) -> int:
        return len({r[0] for r in self._rows(supplier, period, campaign, today, channels)})

    async def claim(self, supplier: str, period: Period | str, campaign: str, resident_id: int, at: datetime) -> bool:
        key = (resident_id, supplier, str(period), campaign)
        if self.s.deliveries.get(key, "retry") != "retry":
            return False
        self.s.deliveries[key] = "sending"
        return True

    async def mark(self, supplier: str, period: Period | str, campaign: str, resident_ids: list[int],
                   state: str) -> None:
        for resident_id in resident_ids:
            self.s.deliveries[(resident_id, supplier, str(period), campaign)] = state

    async def retries_left(self, supplier: str, period: Period, campaign: str) -> int:
        return sum(1 for k, state in self.s.deliveries.items() if k[1:] == (supplier, str(period), campaign)
                   and state == "retry")

    async def verifications_due(self, today: date, until: date, channels: list[str]) -> list[VerificationDue]:
        return []  # the SQL store's tests cover warnings

    async def settle_warnings_in_flight(self) -> int:
        lost = [k for k, state in self.s.deliveries.items() if k[2] == VERIFY_PERIOD and state == "sending"]
        for key in lost:
            self.s.deliveries[key] = "lost"
        return len(lost)


class _Payments:
    """As SQL keeps them: one row per natural key, by supplier and number, amounts to the kopiyka."""

    def __init__(self, s: Store) -> None:
        self.s = s

    async def add(self, entries: list[BillingEntry], at: datetime) -> int:
        kept = {e.key for e in self.s.billing}
        new = []
        for entry in entries:
            if entry.key not in kept:
                kept.add(entry.key)
                new.append(replace(entry, amount=entry.amount.quantize(Decimal("0.01"))))
        self.s.billing += new
        return len(new)

    async def unregistered(self, accounts: set[tuple[str, str]]) -> set[tuple[str, str]]:
        return accounts - {(a.supplier, a.number) for a in self.s.accounts.values()}

    def _newest_first(self, supplier: str, number: str) -> list[BillingEntry]:
        mine = [(e.on, i, e) for i, e in enumerate(self.s.billing) if (e.supplier, e.account) == (supplier, number)]
        return [e for _, _, e in sorted(mine, key=lambda x: (x[0], x[1]), reverse=True)]

    async def latest_balance(self, supplier: str, number: str) -> Balance | None:
        entry = next((e for e in self._newest_first(supplier, number) if e.kind is BillingKind.BALANCE), None)
        return Balance(entry.amount, entry.on) if entry else None

    async def entries(self, supplier: str, number: str, since: date) -> list[BillingEntry]:
        return [e for e in self._newest_first(supplier, number) if e.kind is not BillingKind.BALANCE and e.on >= since]


def _implements_the_port(uow: FakeUnitOfWork) -> UnitOfWork:
    """Never called: mypy checks here that the fake implements the same ports as storage/uow.py."""
    return uow


class _Photos:
    """A reading's evidence is in its submission (NewReading), its status in the store's readings."""

    def __init__(self, s: Store) -> None:
        self.s = s

    def _supported(self) -> list[tuple[str, Reading]]:
        readings = {(r.reference, r.meter_id): r for r in self.s.readings}
        return [(n.evidence, readings[(x.reference, n.meter_id)]) for x in self.s.submissions for n in x.readings
                if n.evidence is not None and (x.reference, n.meter_id) in readings]

    async def add(self, name: str, resident_id: int, at: datetime) -> None:
        if name in self.s.photos:
            raise ValueError(f"photo {name} recorded twice")  # as the unique name would in SQL
        self.s.photos[name] = {"resident_id": resident_id, "received_at": at.astimezone(timezone.utc)}

    async def known(self, names: list[str]) -> set[str]:
        return {n for n in names if n in self.s.photos}

    async def forget(self, resident_id: int) -> list[str]:
        handed_in = {name for name, r in self._supported()
                     if r.status in (ReadingStatus.ACCEPTED, ReadingStatus.REPLACED)}
        doomed = [n for n, p in self.s.photos.items() if p["resident_id"] == resident_id and n not in handed_in]
        await self.remove(doomed)
        for photo in self.s.photos.values():
            if photo["resident_id"] == resident_id:
                photo["resident_id"] = None
        return doomed

    async def expired(self, readings_before: datetime, loose_before: datetime, limit: int) -> list[str]:
        supported = self._supported()
        old = {name for name, r in supported if r.submitted_at < readings_before}
        referred = {name for name, _ in supported}
        return [n for n, p in self.s.photos.items()
                if n in old or (n not in referred and p["received_at"] < loose_before)][:limit]

    async def remove(self, names: list[str]) -> None:
        gone = set(names)
        for n in gone:
            self.s.photos.pop(n, None)
        self.s.submissions = [replace(x, readings=tuple(replace(r, evidence=None) if r.evidence in gone else r
                                                        for r in x.readings)) for x in self.s.submissions]
