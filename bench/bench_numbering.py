"""Benchmark of the numbering core: import time of a full-size synthetic registry (about 17,000
DEF rows + 300,000 ABC rows) and of a 10-million-number ported dump, lookups per second next to
phonenumbers' carrier lookup on the same numbers (both including normalisation), and memory.

    .venv/bin/python bench/bench_numbering.py [--ported 10000000] [--lookups 200000] [--keep DIR]

Each phase runs in its own process so its memory figures are its own. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OPERATORS = [('ПАО "Мобильные ТелеСистемы"', "7740000076"), ('ПАО "МегаФон"', "7812014560"),
             ('ПАО "ВЫМПЕЛКОМ"', "7713076301"), ('ООО "Т2 Мобайл"', "7743895280"),
             ('ООО "Скартел"', "7701725181"), ('ПАО "Ростелеком"', "7707049388")]
OPERATORS += [(f'ООО "Регионсвязь-{i}"', f"{5400000000 + i}") for i in range(400)]
REGIONS = ["г. Москва и Московская область", "г. Санкт-Петербург и Ленинградская область",
           "Новосибирская обл.", "Свердловская обл.", "Красноярский край", "Приморский край",
           "Калининградская обл.", "Самарская обл.", "Омская обл.", "Иркутская обл.",
           "Хабаровский край", "Камчатский край", "Магаданская обл.", "Республика Саха (Якутия)",
           "г. Бердск|р-н Искитимский|Новосибирская обл.", "-", "Тверская обл."]
HEADER = "АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН"
MNC = [("mMTS", "01"), ("mMEGAFON", "02"), ("mBEELINE", "99"), ("mTELE2", "20")]


def rss() -> dict[str, float]:
    """Current and peak resident memory of this process, MB."""
    status = Path("/proc/self/status").read_text().splitlines()
    values = {ln.split(":")[0]: int(ln.split()[1]) / 1024 for ln in status if ln.startswith(("VmRSS", "VmHWM"))}
    return {"rss_mb": round(values["VmRSS"], 1), "peak_mb": round(values["VmHWM"], 1)}


def write_registry(directory: Path, codes: range | list[int], rows_per_code: int, name: str) -> Path:
    rng = random.Random(len(name))
    lines = [HEADER]
    width = 10_000_000 // rows_per_code
    for code in codes:
        for k in range(rows_per_code):
            start = k * width
            end = 9_999_999 if k == rows_per_code - 1 else start + width - 1
            op, inn = rng.choice(OPERATORS[:6]) if code >= 900 else rng.choice(OPERATORS)
            region = rng.choice(REGIONS)
            lines.append(f"{code};{start:07d};{end:07d};{end - start + 1};{op};{region};{region};{inn}")
    path = directory / name
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8"))
    return path


def write_ported(directory: Path, count: int) -> Path:
    import numpy as np
    rng = np.random.default_rng(1)
    numbers = np.unique(rng.integers(9_000_000_000, 10_000_000_000, int(count * 1.01)))[:count]
    rng.shuffle(numbers)
    owners = rng.integers(0, 4, len(numbers))
    path = directory / "Port_All_synthetic.csv"
    with open(path, "w", encoding="ascii") as fh:
        fh.write("Number,OwnerId,MNC,Route,RegionCode,PortDate,RowCount\n")
        step = 200_000
        for lo in range(0, len(numbers), step):
            fh.write("".join(
                f"{n},{MNC[o][0]},{MNC[o][1]},D77{MNC[o][1]},77,2020-01-01T12:00:00+03:00,\n"
                for n, o in zip(numbers[lo:lo + step].tolist(), owners[lo:lo + step].tolist())))
    return path


def sample_numbers(count: int, data_dir: Path) -> list[str]:
    """Numbers as people write them: half ported, half not, in several formats."""
    import numpy as np
    from ivr.routing import ported
    stored, _, _ = ported.load(data_dir)
    rng = random.Random(5)
    picks = [int(stored[rng.randrange(len(stored))]) for _ in range(count // 2)] if len(stored) else []
    picks += [rng.randrange(9_000_000_000, 10_000_000_000) for _ in range(count - len(picks))]
    rng.shuffle(picks)
    formats = [lambda n: f"8 {str(n)[:3]} {str(n)[3:6]}-{str(n)[6:8]}-{str(n)[8:]}",
               lambda n: f"+7 ({str(n)[:3]}) {str(n)[3:6]}-{str(n)[6:8]}-{str(n)[8:]}",
               lambda n: f"7{n}", lambda n: f"{n}"]
    del np
    import phonenumbers
    # phonenumbers refuses a few unallocated blocks (+7 930 000...): both sides need valid numbers
    picks = [n for n in picks if phonenumbers.is_valid_number(phonenumbers.parse(f"+7{n}"))]
    return [formats[i % 4](n) for i, n in enumerate(picks)]


def phase(name: str, data_dir: Path, files: list[str], lookups: int) -> dict:
    from ivr.routing import ported, registry
    from ivr.routing.carriers import load_carrier_table
    table = load_carrier_table(ROOT / "config/numbering/operators.yaml")
    base = rss()
    if name == "import":
        started = time.perf_counter()
        report = registry.import_files([Path(f) for f in files], data_dir)
        return {"seconds": time.perf_counter() - started, "rows": report.rows,
                "errors": len(report.errors), **rss(), "base_mb": base["rss_mb"]}
    if name == "import-ported":
        started = time.perf_counter()
        report = ported.import_file(Path(files[0]), data_dir, table)
        return {"seconds": time.perf_counter() - started, "rows": report.total,
                "errors": len(report.errors), **rss(), "base_mb": base["rss_mb"]}
    import phonenumbers
    from phonenumbers import carrier as pn_carrier

    from ivr.routing.lookup import CarrierLookup
    from ivr.routing.numbers import normalize
    raw = sample_numbers(lookups, data_dir)
    e164 = [normalize(r) for r in raw]
    before_load = rss()["rss_mb"]
    started = time.perf_counter()
    lookup = CarrierLookup(data_dir, table)
    load_s = time.perf_counter() - started
    for n in e164:                    # touch the pages once, as a running service would have
        lookup.lookup(n)
    bare = math.inf
    for _ in range(5):                # best of five passes: other processes share the machine
        started = time.perf_counter()
        for n in e164:
            lookup.lookup(n)
        bare = min(bare, (time.perf_counter() - started) / len(e164))
    sources: dict[str, int] = {}
    for r in raw:
        info = lookup.lookup(normalize(r))
        sources[info.carrier_source] = sources.get(info.carrier_source, 0) + 1
    for r in raw[:1000]:              # phonenumbers loads its carrier data on first use
        pn_carrier.name_for_number(phonenumbers.parse(r, "RU"), "en")
    # Ours and theirs in turn, five passes each: the ratio of each pair, so a load that comes and
    # goes on a shared machine hits both sides of a pair alike; medians are reported.
    ours_s, theirs_s = [], []
    for _ in range(5):
        started = time.perf_counter()
        for r in raw:
            lookup.lookup(normalize(r))
        ours_s.append((time.perf_counter() - started) / len(raw))
        started = time.perf_counter()
        for r in raw:
            pn_carrier.name_for_number(phonenumbers.parse(r, "RU"), "en")
        theirs_s.append((time.perf_counter() - started) / len(raw))
    ours, theirs = statistics.median(ours_s), statistics.median(theirs_s)
    ratio = statistics.median(t / o for o, t in zip(ours_s, theirs_s))
    after = rss()
    return {"load_s": load_s, "bare_us": bare * 1e6, "ours_per_s": 1 / ours, "pn_per_s": 1 / theirs, "ratio": ratio,
            "sources": sources, "lookup_mb": round(after["rss_mb"] - before_load, 1), **after,
            "base_mb": base["rss_mb"], "counts": lookup.counts}


def run_phase(name: str, data_dir: Path, files: list[Path], lookups: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--data", str(data_dir),
                          "--lookups", str(lookups), *map(str, files)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ported", type=int, default=10_000_000)
    parser.add_argument("--def-rows", type=int, default=17_000)
    parser.add_argument("--abc-rows", type=int, default=300_000)
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.data, args.files, args.lookups)))
        return 0

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-numbering-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        abc_codes = [c for c in range(300, 1000) if str(c)[0] in "348"]
        per_abc = max(1, args.abc_rows // len(abc_codes))
        per_def = max(1, args.def_rows // 100)
        files = [write_registry(work, abc_codes, per_abc, "ABC-synthetic.csv"),
                 write_registry(work, range(900, 1000), per_def, "DEF-9xx-synthetic.csv")]
        dump = write_ported(work, args.ported)
        generated = time.perf_counter() - started
        data_dir = work / "numbering"
        shutil.rmtree(data_dir, ignore_errors=True)
        imp = run_phase("import", data_dir, files, args.lookups)
        imp_p = run_phase("import-ported", data_dir, [dump], args.lookups)
        look = run_phase("lookup", data_dir, [], args.lookups)
        store_mb = sum(f.stat().st_size for d in ("registry", "ported")
                       for f in (data_dir / d).resolve().iterdir()) / 2**20
        print(f"Synthetic files generated in {generated:.1f} s in {work}\n")
        print("| measure | value |")
        print("|---|---|")
        print(f"| registry import ({imp['rows']:,} ranges, {imp['errors']} errors) | {imp['seconds']:.1f} s, "
              f"peak RSS {imp['peak_mb']:.0f} MB |")
        print(f"| ported import ({imp_p['rows']:,} numbers, {imp_p['errors']} errors) | "
              f"{imp_p['seconds']:.1f} s, peak RSS {imp_p['peak_mb']:.0f} MB |")
        print(f"| stores on disk (registry + ported) | {store_mb:.0f} MB |")
        print(f"| CarrierLookup load (memory-mapped) | {look['load_s'] * 1000:.0f} ms |")
        print(f"| lookup alone (E.164 in, no normalisation; best of 5 passes) | {look['bare_us']:.2f} µs |")
        print(f"| ours: normalize + lookup | {look['ours_per_s']:,.0f} /s |")
        print(f"| phonenumbers: parse + carrier.name_for_number | {look['pn_per_s']:,.0f} /s |")
        print(f"| ours / phonenumbers (median of 5 paired passes) | {look['ratio']:.1f}× |")
        print(f"| lookup memory (RSS growth: load + {args.lookups:,} lookups) | {look['lookup_mb']:.0f} MB |")
        print(f"| lookup process RSS (incl. Python, numpy, phonenumbers) | {look['rss_mb']:.0f} MB "
              f"(before loading {look['base_mb']:.0f} MB) |")
        print(f"| sources of the answers | {', '.join(f'{k} {v:,}' for k, v in sorted(look['sources'].items()))} |")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
