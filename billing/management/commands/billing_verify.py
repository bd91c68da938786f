"""`manage.py billing_verify`: checks every account and posting; exits 1 on any difference."""

import sys

from django.core.management.base import BaseCommand

from billing.verify import ledger_verify


class Command(BaseCommand):
    help = "Check that every stored balance equals the sum of its legs and every posting balances."

    def handle(self, *args, **options):
        report = ledger_verify()
        for problem in report.problems:
            self.stderr.write(problem)
        summary = f"{report.accounts} accounts, {report.postings} postings, {report.legs} legs"
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"Ledger OK: {summary}."))
            return
        self.stderr.write(self.style.ERROR(f"Ledger differences: {len(report.problems)} ({summary})."))
        sys.exit(1)
