"""`billing_verify`: every stored balance equals the sum of its legs, every posting balances.

Three set-based queries (one scan of the legs each), so a million legs take seconds:
accounts whose `balance` differs from the sum of their legs, accounts whose `held` differs
from their open payouts, postings whose legs do not sum to zero, and negative wallets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.mail import mail_admins
from django.db import connection

logger = logging.getLogger("commonwatt.billing")

ACCOUNTS_SQL = """
SELECT a.id, a.balance, COALESCE(s.total, 0)
FROM billing_account a
LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM billing_leg GROUP BY account_id) s
       ON s.account_id = a.id
WHERE a.balance <> COALESCE(s.total, 0)
"""
HELD_SQL = """
SELECT a.id, a.held, COALESCE(p.total, 0)
FROM billing_account a
LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM billing_payout
           WHERE status IN ('requested', 'sent') GROUP BY account_id) p ON p.account_id = a.id
WHERE a.held <> COALESCE(p.total, 0)
"""
POSTINGS_SQL = """
SELECT p.id, COALESCE(s.total, 0), COALESCE(s.n, 0)
FROM billing_posting p
LEFT JOIN (SELECT posting_id, SUM(amount) AS total, COUNT(*) AS n FROM billing_leg GROUP BY posting_id) s
       ON s.posting_id = p.id
WHERE s.total IS NULL OR s.total <> 0 OR s.n < 2
"""
NEGATIVE_SQL = "SELECT id, balance, held FROM billing_account WHERE kind = 'member_wallet' AND balance < held"


@dataclass
class VerifyReport:
    accounts: int = 0
    postings: int = 0
    legs: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def ledger_verify() -> VerifyReport:
    report = VerifyReport()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM billing_account), (SELECT COUNT(*) FROM billing_posting),"
            " (SELECT COUNT(*) FROM billing_leg)"
        )
        report.accounts, report.postings, report.legs = cursor.fetchone()
        cursor.execute(ACCOUNTS_SQL)
        report.problems += [
            f"account {a}: stored balance {b} != sum of legs {s}" for a, b, s in cursor.fetchall()
        ]
        cursor.execute(HELD_SQL)
        report.problems += [f"account {a}: held {h} != open payouts {s}" for a, h, s in cursor.fetchall()]
        cursor.execute(POSTINGS_SQL)
        report.problems += [f"posting {p}: legs sum to {s} ({n} legs)" for p, s, n in cursor.fetchall()]
        cursor.execute(NEGATIVE_SQL)
        report.problems += [f"wallet {a}: balance {b} below holds {h}" for a, b, h in cursor.fetchall()]
    return report


def ledger_verify_and_alert() -> VerifyReport:
    """The nightly check: on any difference, log an error and mail the admins."""
    report = ledger_verify()
    if not report.ok:
        logger.error("billing_verify: %d problem(s): %s", len(report.problems), report.problems[:20])
        mail_admins(
            "billing_verify found ledger differences", "\n".join(report.problems[:200]), fail_silently=True
        )
    return report
