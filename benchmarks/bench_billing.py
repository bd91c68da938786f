"""Ledger speed: postings/s through `posting_create` vs a plain INSERT of the same legs
(single writer and 8 concurrent writers), p95 of a withdrawal under 50 concurrent clients
(HTTP API), and `billing_verify` over 1 million legs.

The ledger is append-only, so the bench never writes into it: it builds a scratch schema
`bench_billing` with copies of the billing tables and the ledger's triggers, points its
connections' `search_path` there, and drops the schema at the end. Withdrawals are not
queued to Celery during the bench (no payout can leave the scratch schema).
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from django.db import connection, connections

SCHEMA = "bench_billing"
TABLES = [
    "billing_account",
    "billing_posting",
    "billing_leg",
    "billing_payment",
    "billing_payout",
    "billing_providerevent",
    "billing_idempotentrequest",
    "billing_auditentry",
]
WALLETS = 100
POSTINGS = int(os.environ.get("BENCH_BILLING_POSTINGS", "2000"))
WRITERS = 8
CLIENTS = int(os.environ.get("BENCH_BILLING_CLIENTS", "50"))
VERIFY_LEGS = int(os.environ.get("BENCH_BILLING_VERIFY_LEGS", "1000000"))


def _use_schema() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {SCHEMA}, public")


def _setup() -> None:
    import importlib

    triggers_sql = importlib.import_module("billing.migrations.0002_ledger_triggers").FORWARD

    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
        for table in TABLES:
            cursor.execute(f"CREATE TABLE {SCHEMA}.{table} (LIKE public.{table} INCLUDING ALL)")
        for table in ("billing_posting", "billing_leg"):  # the plain-INSERT baseline: no triggers
            cursor.execute(f"CREATE TABLE {SCHEMA}.plain_{table[8:]} (LIKE public.{table} INCLUDING ALL)")
        cursor.execute(f"SET search_path TO {SCHEMA}, public")
        cursor.execute(triggers_sql)


def _teardown() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET search_path TO public")
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def _in_schema(fn):
    def run(*args):
        try:
            _use_schema()
            return fn(*args)
        finally:
            connections.close_all()

    return run


def _wallets():
    from accounts.models import User
    from billing import ledger
    from billing.ledger import LegSpec

    clearing = ledger.account_clearing(provider="bench")
    wallets = [ledger.account_wallet(user=User(pk=10**9 + i)) for i in range(WALLETS)]
    for wallet in wallets:
        ledger.posting_create(
            legs=[LegSpec(clearing, Decimal("-1000000.00")), LegSpec(wallet, Decimal("1000000.00"))],
            idempotency_key=f"bench-fund-{wallet.pk}",
            kind="topup",
        )
    return wallets


def _pairs(n: int, seed: int):
    rng = random.Random(seed)
    return [
        (rng.randrange(WALLETS), rng.randrange(WALLETS - 1), Decimal(rng.randrange(1, 5000)) / 100)
        for _ in range(n)
    ]


def _service_batch(wallets, pairs, tag: str) -> None:
    from billing import ledger
    from billing.ledger import LegSpec

    for n, (i, j, amount) in enumerate(pairs):
        j = j if j < i else j + 1
        ledger.posting_create(
            legs=[LegSpec(wallets[i], -amount), LegSpec(wallets[j], amount)],
            idempotency_key=f"bench-{tag}-{n}",
            kind="p2p",
        )


PLAIN_POSTING = (
    f"INSERT INTO {SCHEMA}.plain_posting (idempotency_key, kind, currency, reason, created_at) "
    "VALUES (%s, 'p2p', 'EUR', '', now()) RETURNING id"
)
PLAIN_LEGS = (
    f"INSERT INTO {SCHEMA}.plain_leg (posting_id, account_id, amount, kind, created_at) "
    "VALUES (%s, %s, %s, 'other', now()), (%s, %s, %s, 'other', now())"
)


def _plain_batch(wallets, pairs, tag: str) -> None:
    from django.db import transaction

    for n, (i, j, amount) in enumerate(pairs):
        j = j if j < i else j + 1
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(PLAIN_POSTING, [f"plain-{tag}-{n}"])
            posting_id = cursor.fetchone()[0]
            cursor.execute(
                PLAIN_LEGS, [posting_id, wallets[i].pk, -amount, posting_id, wallets[j].pk, amount]
            )


def _rate(fn, wallets, n: int, writers: int, tag: str) -> float:
    pairs = _pairs(n, seed=hash(tag) & 0xFFFF)
    chunks = [pairs[k::writers] for k in range(writers)]
    started = time.perf_counter()
    if writers == 1:
        fn(wallets, pairs, tag)
    else:
        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(_in_schema(lambda k: fn(wallets, chunks[k], f"{tag}-{k}")), range(writers)))
    return n / (time.perf_counter() - started)


def _withdrawals(clients: int) -> dict:
    from rest_framework.test import APIClient

    from accounts.models import User
    from billing import ledger, services
    from billing.ledger import LegSpec

    services._enqueue_payout = lambda payout_id: None  # nothing leaves the scratch schema
    users = [
        User(pk=2 * 10**9 + i, email=f"bench{i}@example.invalid", is_active=True) for i in range(clients)
    ]
    clearing = ledger.account_clearing(provider="bench")
    for user in users:
        ledger.posting_create(
            legs=[
                LegSpec(clearing, Decimal("-100.00")),
                LegSpec(ledger.account_wallet(user=user), Decimal("100.00")),
            ],
            idempotency_key=f"bench-wfund-{user.pk}",
            kind="topup",
        )
    warm = APIClient()  # first request loads the URLconf and views: not part of the timing
    warm.force_authenticate(users[0])
    warm.get("/api/v1/wallet")
    barrier = threading.Barrier(clients)
    timings: list[float] = []
    codes: list[int] = []
    lock = threading.Lock()

    @_in_schema
    def client_run(k: int) -> None:
        api = APIClient()
        api.force_authenticate(users[k])
        barrier.wait()
        for r in range(5):
            started = time.perf_counter()
            response = api.post(
                "/api/v1/wallet/withdraw",
                {"amount": "3.00", "iban": "IT60X0542811101000000123456"},
                format="json",
                HTTP_IDEMPOTENCY_KEY=f"bench-{k}-{r}",
            )
            elapsed = time.perf_counter() - started
            with lock:
                timings.append(elapsed)
                codes.append(response.status_code)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_run, range(clients)))
    timings.sort()
    return {
        "clients": clients,
        "requests": len(timings),
        "ok": codes.count(201),
        "p50_ms": round(statistics.median(timings) * 1000, 1),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1] * 1000, 1),
    }


def _verify_1m(legs: int) -> dict:
    from billing.verify import ledger_verify

    postings = legs // 2
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {SCHEMA}.billing_leg DISABLE TRIGGER USER")
        cursor.execute(f"ALTER TABLE {SCHEMA}.billing_posting DISABLE TRIGGER USER")
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM billing_posting")
        base = cursor.fetchone()[0]
        cursor.execute("SELECT id FROM billing_account WHERE kind = 'member_wallet' ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO billing_posting (id, idempotency_key, kind, currency, reason, created_at) "
            "SELECT %s + g, 'bench-v-' || g, 'p2p', 'EUR', '', now() FROM generate_series(1, %s) g",
            [base, postings],
        )
        cursor.execute(
            "INSERT INTO billing_leg (posting_id, account_id, amount, kind, created_at) "
            "SELECT %s + g, (%s::bigint[])[1 + (g + (s + 1) / 2) %% %s], s * ((g %% 997) + 1) / 100.0, "
            "'other', now() "
            "FROM generate_series(1, %s) g, (VALUES (-1), (1)) v(s)",
            [base, ids, len(ids), postings],
        )
        # what the balance trigger would have done, in one statement
        cursor.execute(
            "UPDATE billing_account a SET balance = s.total FROM "
            "(SELECT account_id, SUM(amount) total FROM billing_leg GROUP BY account_id) s "
            "WHERE s.account_id = a.id"
        )
        cursor.execute(f"ALTER TABLE {SCHEMA}.billing_leg ENABLE TRIGGER USER")
        cursor.execute(f"ALTER TABLE {SCHEMA}.billing_posting ENABLE TRIGGER USER")
        cursor.execute("ANALYZE billing_leg")
    started = time.perf_counter()
    report = ledger_verify()
    elapsed = time.perf_counter() - started
    return {
        "legs": report.legs,
        "postings": report.postings,
        "ok": report.ok,
        "seconds": round(elapsed, 2),
        "goal_s": 10,
        "meets_goal": elapsed < 10,
    }


def run() -> dict:
    _setup()
    try:
        _use_schema()
        wallets = _wallets()
        results = {}
        for writers in (1, WRITERS):
            n = POSTINGS if writers == 1 else POSTINGS * 2
            service = _rate(_service_batch, wallets, n, writers, f"s{writers}")
            plain = _rate(_plain_batch, wallets, n, writers, f"p{writers}")
            results[f"postings_per_s_{writers}_writer{'s' if writers > 1 else ''}"] = {
                "service": round(service, 1),
                "plain_insert": round(plain, 1),
                "ratio": round(service / plain, 2),
                "goal_ratio": 0.3,
            }
        _use_schema()
        results["withdrawal"] = {**_withdrawals(CLIENTS)}
        _use_schema()
        results["billing_verify"] = _verify_1m(VERIFY_LEGS)
        return results
    finally:
        _teardown()
