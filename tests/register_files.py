"""Generated registers of any size, from a seed: for the import tests and bench/register_import.py."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from core.register import COLUMNS

STREETS = ("Khreshchatyk St", "Sahaidachnoho St", "Velyka Vasylkivska St", "Peremohy Ave", "Lesi Ukrainky Blvd")


def write_register(path: Path, households: int, seed: int = 1, changed: float = 0.0) -> int:
    """A register of ``households`` homes, each with a heat account (heating and two hot water meters)
    and a two-zone electricity account: 2 accounts and 5 rows a home. A share ``changed`` (0–1) of the
    homes, picked from the seed, differ from the file with changed=0, by turns: a new last payment, a hot
    water meter gone (to be retired), a third hot water meter. Returns the rows written."""
    pick = random.Random(seed + 1)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for home in range(households):
            values = random.Random(seed * 1_000_003 + home)  # one home's values do not depend on the others
            address = f"Kyiv, {values.randint(1, 200)} {values.choice(STREETS)}"
            apartment = str(values.randint(1, 300))
            payment = f"{values.randint(100, 500_000) / 100:.2f}"
            change = pick.random() < changed
            kind = home % 3 if change else None
            if kind == 0:
                payment = f"{float(payment) + 1:.2f}"
            heat = f"{100_000_000_000_000 + home:015d}"
            hot_water = ["HW-A", "HW-B"] if kind != 1 else ["HW-A"]
            if kind == 2:
                hot_water.append("HW-C")
            meters = [("HT", "heating", "", f"{values.randint(0, 99_999_999) / 1000:.3f}")]
            meters += [(serial, "hot_water", "", f"{values.randint(0, 9_999_999) / 1000:.3f}") for serial in hot_water]
            for serial, service, zone, reading in meters:
                writer.writerow(("heat", heat, address, apartment, payment, f"{serial}-{home}", service, zone, reading,
                                 "2026-10-28"))
                rows += 1
            electricity = f"{40_000_000 + home:08d}"
            for zone in ("day", "night"):
                writer.writerow(("electricity", electricity, address, apartment, "", f"EL-{home}", "electricity", zone,
                                 f"{values.randint(0, 9_999_999) / 10:.1f}", "2026-11-01"))
                rows += 1
    return rows
