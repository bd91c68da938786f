"""`make bench`: runs every benchmark module in this package and prints one JSON object.

Each module `benchmarks/bench_<name>.py` exposes `run() -> dict`; results are keyed by
name. `python -m benchmarks NAME ...` runs only those.
"""

import importlib
import json
import os
import pkgutil
import sys
import time


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import benchmarks

    names = [m.name[len("bench_"):] for m in pkgutil.iter_modules(benchmarks.__path__)
             if m.name.startswith("bench_")]
    wanted = argv or sorted(names)
    results = {}
    for name in wanted:
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.bench_{name}")
        results[name] = module.run()
        results[name]["_wall_s"] = round(time.perf_counter() - started, 2)
        print(json.dumps({name: results[name]}), file=sys.stderr)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
