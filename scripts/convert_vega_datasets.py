"""Converts two datasets of the vega-datasets wheel into the CSV files stratanet bundles.

    pip download vega-datasets==0.9.0 --no-deps -d /tmp/vega
    python scripts/convert_vega_datasets.py /tmp/vega/vega_datasets-0.9.0-py3-none-any.whl

- vega_datasets/_data/cars.json -> data/auto-mpg/auto-mpg.csv: every row (missing
  Miles_per_Gallon / Horsepower become empty fields), the JSON's columns in the JSON's order,
  numbers written as Python prints them (18, 17.5), `Year` ("1970-01-01") replaced by the
  year number (1970).
- vega_datasets/_data/seattle-weather.csv -> data/seattle-weather/seattle-weather.csv,
  byte for byte.

Standard library only. It prints the row counts, missing-value counts and inferred column
types (stratanet's rule: int if every present value parses as an integer, else float if
every one parses as a number, else str) that tests/tabular_csv.rs and
frontend/src/datasets.rs hard-code.
"""

import csv
import io
import json
import os
import sys
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
COLUMNS = [
    "Name",
    "Miles_per_Gallon",
    "Cylinders",
    "Displacement",
    "Horsepower",
    "Weight_in_lbs",
    "Acceleration",
    "Year",
    "Origin",
]
NA = {"", "NA", "NaN", "nan", "null", "NULL", "N/A"}


def infer(values):
    present = [v.strip() for v in values if v.strip() not in NA]
    if not present:
        return "float"

    def ok(f, v):
        try:
            f(v)
            return True
        except ValueError:
            return False

    if all(ok(int, v) for v in present):
        return "int"
    if all(ok(float, v) for v in present):
        return "float"
    return "str"


def summary(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    print(f"{os.path.relpath(path, ROOT)}: {len(rows)} rows")
    for j, name in enumerate(header):
        col = [r[j] for r in rows]
        missing = sum(v.strip() in NA for v in col)
        line = f"  {name}: {infer(col)}, {missing} missing"
        if infer(col) != "str":
            # plain left-to-right f64 sum (Python >= 3.12's sum() is compensated)
            total = 0.0
            for v in col:
                if v.strip() not in NA:
                    total += float(v)
            line += f", sum {total!r}"
        else:
            counts = {}
            for v in col:
                counts[v] = counts.get(v, 0) + 1
            if len(counts) <= 10:
                line += f", counts {dict(sorted(counts.items()))}"
        print(line)


def main(wheel):
    with zipfile.ZipFile(wheel) as z:
        cars = json.loads(z.read("vega_datasets/_data/cars.json"))
        weather = z.read("vega_datasets/_data/seattle-weather.csv")

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for rec in cars:
        assert sorted(rec) == sorted(COLUMNS), rec
        row = []
        for c in COLUMNS:
            v = rec[c]
            if c == "Year":
                assert v.endswith("-01-01"), v
                v = int(v[:4])
            row.append("" if v is None else str(v))
        w.writerow(row)
    mpg = os.path.join(ROOT, "data", "auto-mpg", "auto-mpg.csv")
    with open(mpg, "w", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())

    sea = os.path.join(ROOT, "data", "seattle-weather", "seattle-weather.csv")
    with open(sea, "wb") as f:
        f.write(weather)

    summary(mpg)
    summary(sea)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
