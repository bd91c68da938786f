"""The options and runner shared by the poller management commands."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError

from iot.bridges.base import Poller, PollLoop

BLOCKING_WORKERS = 32


class PollCommand(BaseCommand):
    """`manage.py <protocol>_poll [--device SERIAL ...] [--once | --max-cycles N]`."""

    def make_poller(self, options) -> Poller:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("--device", action="append", default=[], metavar="SERIAL",
                            help="Poll only this device (repeatable). Default: every active device.")
        parser.add_argument("--once", action="store_true",
                            help="Poll every selected device once, then exit.")
        parser.add_argument("--max-cycles", type=int, default=None, metavar="N",
                            help="Exit after N poll cycles (a cycle polls the devices that are due).")
        parser.add_argument("--timeout", type=float, default=None, metavar="S",
                            help="Seconds one device's read may take (default per protocol).")
        parser.add_argument("--backoff-base", type=float, default=2.0, metavar="S",
                            help="First retry delay after a failed poll; doubles per failure.")
        parser.add_argument("--backoff-max", type=float, default=300.0, metavar="S",
                            help="Longest retry delay after repeated failures.")

    def handle(self, *args, **options):
        if options["max_cycles"] is not None and options["max_cycles"] < 1:
            raise CommandError("--max-cycles must be at least 1")
        if options["verbosity"] >= 2:
            logging.getLogger("iot.bridges").setLevel(logging.DEBUG)
        poller = self.make_poller(options)
        if options["timeout"]:
            poller.timeout_s = options["timeout"]
        loop = PollLoop(poller, serials=options["device"], backoff_base_s=options["backoff_base"],
                        backoff_max_s=options["backoff_max"])
        totals = run_until_stopped(
            lambda stop: loop.run(once=options["once"], max_cycles=options["max_cycles"], stop=stop)
        )
        self.stdout.write(
            f"{poller.protocol}: {loop.cycles} cycle(s), {totals.polled} poll(s), {totals.failed} failed; "
            f"readings accepted={totals.accepted} duplicate={totals.duplicate} rejected={totals.rejected}"
        )


def run_until_stopped(main):
    """Run `main(stop)` (a coroutine function) until it returns; SIGINT/SIGTERM set `stop`.

    It runs under `async_to_sync`, so the ORM calls the loop makes through
    `sync_to_async` execute on this (the calling) thread and its database connection,
    the same one a test's transaction uses."""
    holder: dict = {}

    async def runner():
        loop = asyncio.get_running_loop()
        # Blocking clients (pysunspec2, open61850, opendnp3 scans) wait on the network in
        # worker threads: more of them than the default (cores + 4) keeps slow devices
        # from queueing the others.
        executor = ThreadPoolExecutor(max_workers=BLOCKING_WORKERS, thread_name_prefix="poller-io")
        loop.set_default_executor(executor)
        holder["loop"], holder["stop"] = loop, asyncio.Event()
        try:
            return await main(holder["stop"])
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    def on_signal(signum, frame):
        if "loop" in holder:
            holder["loop"].call_soon_threadsafe(holder["stop"].set)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        return async_to_sync(runner)()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
