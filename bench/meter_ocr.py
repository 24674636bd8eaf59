"""Meter photos read by the [ocr] extra: how often the bot would suggest the right value, and how fast.

Draws N meter faces from a seed (tests/meter_faces.py: water-type 5+3 and electricity 6+1 drums, with glare,
blur, a tilted camera, low light and drums caught while turning), reads each through the bot's own path
(bot/photos/recognizer.py: start_recognizer(), its worker process, one photo at a time) and asks
core/meter_photo.py for a suggestion, with the previous reading a month's plausible use below the value shown
and two months of similar use before it. The services are the shipped ones (core/suppliers.toml): cold water
for 5+3, electricity for 6+1.

It prints the share of photos whose suggestion is the value shown (exact), withheld (the resident types it)
and wrong (a different value offered to the resident), overall and for each condition; a drum caught while
turning shows two digits at once, so for those a withheld suggestion is fine and the reading is the lower
digit. Then the seconds per photo (p50, p99; the workers' start is timed apart) and the peak memory: the
maximum resident set size of this process and of the worker (RUSAGE_CHILDREN, once the worker has ended).

    .venv/bin/python bench/meter_ocr.py [--seed 1] [--count 200] [--workers N] [--show-wrong]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.photos.recognizer import start_recognizer  # noqa: E402
from core.meter_photo import suggestion  # noqa: E402
from core.supplier_config import load_suppliers  # noqa: E402
from tests.meter_faces import faces  # noqa: E402

MIB = 1024  # ru_maxrss is in KiB on Linux
MONTHLY_USE = {5: (1, 15), 6: (50, 400)}  # a household's month: m³ of cold water, kWh of electricity


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=200, help="photos to read")
    parser.add_argument("--workers", type=int, help="recognition processes (default: the bot's own choice)")
    parser.add_argument("--show-wrong", action="store_true", help="list the photos given a wrong suggestion")
    args = parser.parse_args()
    suppliers = load_suppliers()
    services = {5: suppliers["water"].service("cold_water"), 6: suppliers["electricity"].service("electricity")}
    recognizer = start_recognizer(workers=args.workers)
    if recognizer is None:
        raise SystemExit("the [ocr] extra is not installed: .venv/bin/pip install -e '.[ocr]'")
    photos = list(faces(args.seed, args.count))
    started = time.monotonic()
    await recognizer.read(photos[0][4])  # starts the worker and loads the engine; the photo is read again below
    warm_up = time.monotonic() - started

    outcomes: dict[str, Counter[str]] = {}
    seconds, wrong = [], []
    for n, (value, digits, decimals, conditions, jpeg) in enumerate(photos):
        service = services[digits]
        assert service is not None and (service.digits, service.decimals) == (digits, decimals)
        rng = random.Random(n)
        use = Decimal(rng.randint(*MONTHLY_USE[digits]))
        previous = max(Decimal(0), value - use)
        started = time.monotonic()
        seen = await recognizer.read(jpeg)
        seconds.append(time.monotonic() - started)
        offered = None if seen is None else suggestion(seen, service, previous, [use * Decimal("0.8"), use])
        outcome = "withheld" if offered is None else "exact" if offered == value else "wrong"
        if outcome == "wrong":
            wrong.append(f"  photo {n}: shows {value}, suggested {offered} ({', '.join(conditions) or 'clean'})")
        for name in ["all", *(list(conditions) or ["clean"])]:
            outcomes.setdefault(name, Counter())[outcome] += 1
    await recognizer.close()

    print(f"{args.count} photos, seed {args.seed}; the worker's start (spawn, imports, models): {warm_up:.1f} s")
    for name, counted in sorted(outcomes.items(), key=lambda item: (item[0] != "all", item[0])):
        total = counted.total()
        print(f"{name:>13} ({total:3}): exact {counted['exact'] / total:6.1%}, "
              f"withheld {counted['withheld'] / total:6.1%}, wrong {counted['wrong'] / total:5.1%}")
    steady = outcomes["all"] - outcomes.get("rolled", Counter())
    print(f"exact where the drum shows one value (not turning): {steady['exact'] / steady.total():.1%}")
    print(f"seconds per photo: p50 {statistics.median(seconds):.2f}, p99 {percentile(seconds, 0.99):.2f}, "
          f"max {max(seconds):.2f}")
    print(f"peak memory (max RSS): this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // MIB} MiB, "
          f"the worker {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // MIB} MiB")
    if args.show_wrong:
        print("\n".join(wrong))


if __name__ == "__main__":
    asyncio.run(main())
