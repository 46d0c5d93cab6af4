"""What every benchmark needs: its size, a fresh PostgreSQL database, timings taken fairly, one report.

Every bench measures one of our paths against the bare library, SQL or view doing the same work
in the same run, and records each figure with ``Report.ratio`` (ours / bare, with its target) or
``Report.figure`` (an absolute figure such as a p95 or a count that must be 0). ``Report.save``
writes ``bench/out/<bench>.json``; ``bench/run.py`` (``make bench``) runs every bench and joins
those files into ``bench/report.json`` and ``bench/REPORT.md``.

The machine has two cores shared with other work, so one timing says little: each contest runs
its two sides in turn, several times, and the median of each side is reported (with the spread).
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # not a line per login (django-axes)

# BENCH_SIZE=quick (the default: a few minutes) or city (the sizes: 250,000 teachers,
# 5,000,000 ledger entries, 1,500 courses, 10 programmes). Command-line flags still override.
SIZES = {
    "quick": {
        "teachers": 20_000,
        "ledger_per_teacher": 8,
        "courses": 500,
        "programmes": 10,
        "roster_rows": 20_000,
        "sweep_rows": 20_000,
        "bulk_rows": 5_000,
        "pages": [(20_000, 500)],
        "rush_seconds": 12,
        "partition_entries": 1_000_000,
    },
    "city": {
        "teachers": 250_000,
        "ledger_per_teacher": 20,
        "courses": 1_500,
        "programmes": 10,
        "roster_rows": 100_000,
        "sweep_rows": 100_000,
        "bulk_rows": 20_000,
        "pages": [(20_000, 500), (250_000, 1_500)],
        # The rush's data is the same at both sizes (20,000 teachers, 500 courses), and so are its
        # steps: the city run adds the two other gunicorn configurations.
        "rush_seconds": 12,
        "partition_entries": 5_000_000,
    },
}


def size_name() -> str:
    name = os.environ.get("BENCH_SIZE", "quick")
    if name not in SIZES:
        sys.exit(f"BENCH_SIZE must be one of {', '.join(SIZES)}, not {name!r}")
    return name


def size() -> dict:
    return SIZES[size_name()]


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(name: str) -> str:
    """Drop and create database ``name`` beside DATABASE_URL's, migrated, and point Django at it; its URL.

    The migrated schema is made once per state of the migrations (database ``bench_template_<hash>``)
    and each bench's database is a copy of it (``CREATE DATABASE ... TEMPLATE``: a second, not a
    migrate of 20). Exits with a hint when DATABASE_URL is not PostgreSQL.
    """
    import psycopg2

    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgres"):
        sys.exit('DATABASE_URL must point at PostgreSQL: eval "$(.ci/services env)" first')
    parts = urlsplit(url)
    template = _template(parts)
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    admin.close()
    bench_url = urlunsplit(parts._replace(path=f"/{name}"))
    os.environ["DATABASE_URL"] = bench_url
    import django

    django.setup()
    return bench_url


def _template(parts) -> str:
    """The name of a database migrated to the current migrations, made first if there is none."""
    import hashlib

    import psycopg2

    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    name = f"bench_template_{digest.hexdigest()[:12]}"
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            # Older templates go; the one being made is named only once it is whole.
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench_template_%'")
            for (old,) in cur.fetchall():
                cur.execute(f"DROP DATABASE {old} WITH (FORCE)")
            cur.execute(f"DROP DATABASE IF EXISTS {name}_making WITH (FORCE)")  # a run stopped half-way
            cur.execute(f"CREATE DATABASE {name}_making")
            env = {**os.environ, "DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}_making"))}
            subprocess.run(  # noqa: S603 - our own interpreter and manage.py
                [sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v", "0"], env=env, check=True
            )
            cur.execute(f"ALTER DATABASE {name}_making RENAME TO {name}")
    admin.close()
    return name


def drop_database(name: str) -> None:
    """Drop a bench database once its figures are taken (the city-size ones hold gigabytes)."""
    import psycopg2
    from django.db import connections

    connections.close_all()
    parts = urlsplit(os.environ["DATABASE_URL"])
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


# --------------------------------------------------------------------------- timing


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def contest(sides: dict[str, Callable[[], object]], repeat: int, between: Callable[[], None] | None = None) -> dict:
    """Run each side in turn, ``repeat`` rounds; {side: [seconds...]} (``between`` runs untimed after each)."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _round in range(repeat):
        for name, fn in sides.items():
            seconds, _ = timed(fn)
            times[name].append(seconds)
            if between:
                between()
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


# --------------------------------------------------------------------------- the report


class Report:
    """One bench's figures; printed as they come and saved as bench/out/<bench>.json."""

    def __init__(self, bench: str, **context):
        self.bench = bench
        self.context = {"size": size_name(), **context, "load_average_at_start": _load()}
        self.rows: list[dict] = []
        self.started = time.monotonic()
        self.data_seconds = 0.0

    @contextmanager
    def building(self):
        """Time spent inside is data building (a fresh database, generated rows), not measurement."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.data_seconds += time.monotonic() - started

    def ratio(
        self,
        path: str,
        ours: float | list[float],
        bare: float | list[float],
        *,
        bare_name: str,
        target: float | None,
        unit: str = "s",
        higher_is_better: bool = False,
        note: str = "",
        **extra,
    ) -> float:
        """Ours against the bare baseline of the same run (lists: the median of the runs is used).

        ``extra`` goes into the row as it is (a page's query count, the size it was measured at).
        """
        ours_v, bare_v = _central(ours), _central(bare)
        ratio = ours_v / bare_v if bare_v else float("inf")
        met = None if target is None else (ratio >= target if higher_is_better else ratio <= target)
        row = {
            "path": path,
            "figure": ours_v,
            "unit": unit,
            "baseline": bare_v,
            "baseline_name": bare_name,
            "ratio": ratio,
            "target": None if target is None else f"{'>=' if higher_is_better else '<='} {target:g}",
            "met": met,
            "runs": len(ours) if isinstance(ours, list) else 1,
            "spread": _spread(ours),
            "baseline_spread": _spread(bare),
            "peak_rss_mb": round(rss_mb()),
            "note": note,
            **extra,
        }
        self.rows.append(row)
        print(_line(row), flush=True)
        return ratio

    def figure(
        self, path: str, value: float, unit: str, *, target: str | None = None, met: bool | None = None, note: str = ""
    ) -> None:
        """An absolute figure (a latency percentile, a count that must be 0) with its target, if any."""
        row = {
            "path": path,
            "figure": value,
            "unit": unit,
            "baseline": None,
            "baseline_name": "",
            "ratio": None,
            "target": target,
            "met": met,
            "runs": 1,
            "spread": None,
            "baseline_spread": None,
            "peak_rss_mb": round(rss_mb()),
            "note": note,
        }
        self.rows.append(row)
        print(_line(row), flush=True)

    def save(self) -> Path:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{self.bench}.json"
        data = {
            "bench": self.bench,
            "context": {**self.context, "load_average_at_end": _load()},
            "seconds": round(time.monotonic() - self.started, 1),
            "data_seconds": round(self.data_seconds, 1),
            "peak_rss_mb": round(rss_mb()),
            "rows": self.rows,
        }
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=float))
        return path


def _load() -> str:
    """The machine's 1-, 5- and 15-minute load averages: how shared the two cores were."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _central(value: float | list[float]) -> float:
    return median(value) if isinstance(value, list) else value


def _spread(value: float | list[float]) -> list[float] | None:
    return [min(value), max(value)] if isinstance(value, list) and len(value) > 1 else None


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"
    if unit in ("req/s", "/s"):
        return f"{value:.1f} {unit}"
    return f"{value:g} {unit}".strip()


def _line(row: dict) -> str:
    text = f"{row['path']}: {fmt(row['figure'], row['unit'])}"
    if row["ratio"] is not None:
        text += f" vs {row['baseline_name']} {fmt(row['baseline'], row['unit'])} = {row['ratio']:.2f}x"
    if row["target"]:
        text += f" (target {row['target']}: {'met' if row['met'] else 'NOT met'})"
    if row["runs"] > 1:
        text += f" [median of {row['runs']}]"
    if row["note"]:
        text += f"; {row['note']}"
    return text
