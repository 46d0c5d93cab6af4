"""Run every benchmark and write one report: bench/report.json and bench/REPORT.md.

    eval "$(.ci/services env)" && .venv/bin/python bench/run.py            # make bench
    BENCH_SIZE=city .venv/bin/python bench/run.py                          # the issue's sizes
    .venv/bin/python bench/run.py --only pages,selection_rush              # some of them
    .venv/bin/python bench/run.py --report-only                            # rebuild the report

Each bench runs in its own process (so its peak memory is its own), prints its figures and
leaves them in bench/out/<bench>.json (with its log beside it); the report joins the results
found there, so a bench run on its own (``--only``) replaces just its part.
"""

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import OUT, fmt, size_name  # noqa: E402 - after the path is set

BENCHES = [
    "roster_import",
    "compliance",
    "deadline_sweep",
    "enrollment_bulk",
    "selection_rush",
    "pages",
    "ledger_partitions",
]


def run(name: str) -> tuple[int, float]:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").unlink(missing_ok=True)
    started = time.monotonic()
    with (OUT / f"{name}.log").open("w") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and bench files
            [sys.executable, "-u", str(HERE / f"{name}.py")],
            cwd=HERE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
        code = proc.wait()
    return code, time.monotonic() - started


def machine() -> dict:
    import platform

    info = {"cores": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()}
    try:
        import psycopg2

        with psycopg2.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cur:
            cur.execute("SHOW server_version")
            info["postgresql"] = cur.fetchone()[0]
    except Exception as exc:  # the report is still written without it
        info["postgresql"] = f"unknown ({exc.__class__.__name__})"
    return info


def write_report(meta: dict) -> None:
    listed = [OUT / f"{name}.json" for name in BENCHES]
    extra = sorted(set(OUT.glob("*.json")) - set(listed))  # runs at other sizes, e.g. ledger_partitions_25_000_000
    results = [json.loads(p.read_text()) for p in [*listed, *extra] if p.exists()]
    data = {**meta, "benches": results}
    (HERE / "report.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    (HERE / "REPORT.md").write_text(markdown(data))


def markdown(data: dict) -> str:
    m = data.get("machine", {})
    minutes, size = data.get("seconds", 0) / 60, data.get("size")
    ran = data.get("ran", [])
    if set(ran) == set(BENCHES) and not data.get("failed"):
        budget = f" (budget at city size: 30 min, {'met' if minutes < 30 else 'NOT met'})" if size == "city" else ""
        how = f"**{minutes:.1f} min in all**{budget}: one run of `BENCH_SIZE={size} make bench`, every bench in one go"
    else:
        how = (
            f"{minutes:.1f} min for {', '.join(ran) or 'none'} at BENCH_SIZE={size}; not one whole run: "
            "the other sections come from earlier runs (each says its size)"
        )
    lines = [
        "# Benchmark report",
        "",
        f"{how}, finished {data.get('finished', '?')}. Machine: {m.get('cores')} cores shared with other work "
        f"(load average {', '.join(f'{x:.1f}' for x in m.get('load_average', []))} at the start, "
        f"{', '.join(f'{x:.1f}' for x in m.get('load_average_at_end', []))} at the end), "
        f"PostgreSQL {m.get('postgresql')}, Python {m.get('python')}.",
        "",
        "Every figure is ours against the bare library, SQL or view doing the same work in the same run; "
        "timed sides run in turn, several times, and the medians are given (the spread is in report.json). "
        "The machine is shared and noisy: compare the ratios, not the seconds. Peak RSS is the bench "
        "process's maximum resident memory when the figure was taken.",
        "",
    ]
    for bench in data["benches"]:
        context = ", ".join(f"{k} {v}" for k, v in bench["context"].items() if not isinstance(v, dict))
        data_seconds = f" ({bench['data_seconds']:.0f} s of it building the data)" if "data_seconds" in bench else ""
        lines += [
            f"## {bench['bench']}",
            "",
            f"{context}; {bench.get('wall_seconds', bench['seconds']):.0f} s with its data{data_seconds}; "
            f"peak RSS {bench['peak_rss_mb']} MB.",
            "",
        ]
        for key, value in bench["context"].items():
            if isinstance(value, dict) and "database_mb" in value:
                tables = ", ".join(f"{t} {d['rows']:,} rows {d['mb']} MB" for t, d in value["tables"].items())
                lines += [f"{key}: {value['database_mb']:,} MB in all; {tables}.", ""]
        lines += [
            "| path | ours | bare baseline | ratio | target | met | peak RSS | notes |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in bench["rows"]:
            baseline = f"{row['baseline_name']}: {fmt(row['baseline'], row['unit'])}" if row["baseline_name"] else ""
            ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else ""
            met = {True: "yes", False: "**no**", None: ""}[row["met"]]
            lines.append(
                f"| {row['path']} | {fmt(row['figure'], row['unit'])} | {baseline} | {ratio} | "
                f"{row['target'] or ''} | {met} | {row['peak_rss_mb']} MB | {row['note']} |"
            )
        lines.append("")
    failed = data.get("failed")
    if failed:
        lines += [f"Failed in this run: {', '.join(failed)} (see bench/out/<name>.log).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated bench names")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else BENCHES
    unknown = set(names) - set(BENCHES)
    if unknown:
        sys.exit(f"unknown bench: {', '.join(sorted(unknown))}")
    meta = {"size": size_name(), "machine": machine()}
    started = time.monotonic()
    failed = []
    if not args.report_only:
        for name in names:
            print(f"=== {name} (BENCH_SIZE={size_name()})", flush=True)
            code, seconds = run(name)
            print(f"=== {name}: {'ok' if code == 0 else f'FAILED ({code})'} in {seconds:.0f} s", flush=True)
            if code:
                failed.append(name)
            elif (result := OUT / f"{name}.json").exists():
                data = json.loads(result.read_text())
                result.write_text(json.dumps({**data, "wall_seconds": round(seconds)}, ensure_ascii=False, indent=1))
    meta["machine"]["load_average_at_end"] = os.getloadavg()
    meta.update(
        seconds=round(time.monotonic() - started),
        finished=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        ran=[] if args.report_only else names,
        failed=failed,
    )
    if args.report_only and (HERE / "report.json").exists():
        old = json.loads((HERE / "report.json").read_text())
        meta.update({k: old[k] for k in ("size", "machine", "seconds", "finished", "ran") if k in old})
    write_report(meta)
    print(f"wrote {HERE / 'REPORT.md'} and {HERE / 'report.json'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
