"""`billing_verify`: every stored balance equals the sum of its legs, every posting balances.

Two statements (the problems query scans the legs twice), so a million legs take seconds:
accounts whose `balance` differs from the sum of their legs, accounts whose `held` differs
from their open payouts, postings whose legs do not sum to zero, negative wallets, and
receivables whose entries do not add up to what their account says is owed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.mail import mail_admins
from django.db import connection

logger = logging.getLogger("commonwatt.billing")

PROBLEMS_SQL = """
SELECT 'account ' || a.id || ': stored balance ' || a.balance || ' != sum of legs ' || COALESCE(s.total, 0)
FROM billing_account a
LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM billing_leg GROUP BY account_id) s
       ON s.account_id = a.id
WHERE a.balance <> COALESCE(s.total, 0)
UNION ALL
SELECT 'account ' || a.id || ': held ' || a.held || ' != open payouts ' || COALESCE(p.total, 0)
FROM billing_account a
LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM billing_payout
           WHERE status IN ('requested', 'sent') GROUP BY account_id) p ON p.account_id = a.id
WHERE a.held <> COALESCE(p.total, 0)
UNION ALL
SELECT 'posting ' || p.id || ': legs sum to ' || COALESCE(s.total, 0) || ' (' || COALESCE(s.n, 0) || ' legs)'
FROM billing_posting p
LEFT JOIN (SELECT posting_id, SUM(amount) AS total, COUNT(*) AS n FROM billing_leg GROUP BY posting_id) s
       ON s.posting_id = p.id
WHERE s.total IS NULL OR s.total <> 0 OR s.n < 2
UNION ALL
SELECT 'wallet ' || id || ': balance ' || balance || ' below holds ' || held
FROM billing_account WHERE kind = 'member_wallet' AND balance < held
UNION ALL
SELECT 'receivable ' || r.id || ': entries sum to ' || COALESCE(e.total, 0) || ' != owed ' || -a.balance
FROM billing_receivable r JOIN billing_account a ON a.id = r.account_id
LEFT JOIN (SELECT receivable_id, SUM(amount) AS total FROM billing_receivableentry GROUP BY receivable_id) e
       ON e.receivable_id = r.id
WHERE COALESCE(e.total, 0) <> -a.balance
"""
COUNTS_SQL = """
SELECT (SELECT COUNT(*) FROM billing_account), (SELECT COUNT(*) FROM billing_posting),
       (SELECT COUNT(*) FROM billing_leg)
"""


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
        cursor.execute(COUNTS_SQL)
        report.accounts, report.postings, report.legs = cursor.fetchone()
        cursor.execute(PROBLEMS_SQL)
        report.problems = [row[0] for row in cursor.fetchall()]
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
