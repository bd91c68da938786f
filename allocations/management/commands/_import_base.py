"""The shared body of the two import commands (operator at the command line: actor None)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from allocations.importing import MAX_BYTES
from communities.models import Community
from core.exceptions import DomainError


class ImportCommand(BaseCommand):
    service = None

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="CSV files")
        parser.add_argument("--community", required=True, help="community id or slug")
        parser.add_argument("--json", action="store_true", help="print each report as JSON")

    def handle(self, *args, **options):
        ref = options["community"]
        community = Community.objects.filter(**({"pk": int(ref)} if ref.isdigit() else {"slug": ref})).first()
        if community is None:
            raise CommandError(f"No community {ref!r}.")
        failed = False
        for name in options["paths"]:
            path = Path(name)
            try:
                with path.open("rb") as fh:
                    data = fh.read(MAX_BYTES + 1)
            except OSError as exc:
                raise CommandError(f"{name}: {exc.strerror}") from None
            try:
                report = type(self).service(actor=None, community=community, data=data, filename=path.name)
            except DomainError as exc:
                self.stderr.write(f"{name}: {exc.message}")
                for line in exc.details.get("file", [])[1:]:
                    self.stderr.write(f"  {line}")
                failed = True
                continue
            if options["json"]:
                self.stdout.write(json.dumps({"file": name, **report.as_dict()}))
            else:
                self.stdout.write(f"{name}: {report.summary()}")
        if failed:
            raise CommandError("Some files could not be imported (see above); nothing was written from them.")
