"""Browser-test helpers for the portal's pages served by uvicorn (benchmarks.bench_query.asgi_server)."""

import contextlib
import urllib.error
import urllib.request


def warm_up(base: str) -> None:
    """The first request of a fresh server imports every URLconf (pandas, pvlib...): seconds
    on a busy machine. Pay it here, not in the browser's first page load."""
    with contextlib.suppress(urllib.error.HTTPError):  # 503 is fine: the app answered
        urllib.request.urlopen(f"{base}/health", timeout=120).read()
