"""The content hash of an imported account: equal hashes mean a re-import changes nothing.

Only what the file says goes in (not ids, not operational flags such as ``do_not_call`` or
``pin_hash``, not a ``days_past_due`` the import computed from today's date), so re-importing
the same file on another day still finds every account unchanged.
"""

from __future__ import annotations

import hashlib
import json

from recobro.importing.rows import AccountDraft

HASH_VERSION = 1  # bump when the hashed fields change: every account then counts as updated once


def content_hash(draft: AccountDraft) -> str:
    """SHA-256 (hex) of the account's imported fields in a canonical JSON form."""
    acc = draft.account
    doc = {
        "v": HASH_VERSION,
        "external_ref": acc.external_ref,
        "debtor_name": acc.debtor_name,
        "national_id": acc.national_id,
        "balance": str(acc.balance),
        "currency": acc.currency,
        "due_date": acc.due_date.isoformat(),
        "days_past_due": acc.days_past_due if draft.days_past_due_given else None,
        "segment": acc.segment,
        "risk_score": None if acc.risk_score is None else str(acc.risk_score),
        "language": acc.language,
        "state": acc.state,
        "region": acc.region,
        "extra": acc.extra,
        "phones": [[p.position, p.e164, str(p.type), list(p.time_zones)] for p in acc.phones],
    }
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
