#!/usr/bin/env python3
"""Deterministic benchmark tile list from a `flou synth` CSV (issue #4).

For each zoom 5–14, the TOP tiles holding the most observations (ties by x, y), each
asked without a filter and with `taxon` = the most frequent cdRef of the file. Writes
one list per server and zoom band into OUT_DIR:
  flou-<band>.txt    /tiles/{z}/{x}/{y}.mvt[?taxon=N]
  martin-<band>.txt  /flou_public/{z}/{x}/{y}[?taxon=N]
and tiles.tsv (z, x, y, taxon, observations in the tile).

  python3 benches/tiles.py CSV OUT_DIR [--top 12] [--sample 1]
"""
import argparse
import csv
import math
from collections import Counter

BANDS = {"5-6": (5, 6), "7-9": (7, 9), "10-12": (10, 12), "13-14": (13, 14)}


def tile_of(lon, lat, z):
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    s = math.sin(math.radians(lat))
    y = int((0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("out")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--sample", type=int, default=1, help="read every k-th row")
    a = ap.parse_args()
    counts = {z: Counter() for z in range(5, 15)}
    taxa = Counter()
    with open(a.csv, newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i % a.sample:
                continue
            try:
                lon, lat = float(row["longitude"]), float(row["latitude"])
            except (KeyError, ValueError):
                continue
            taxa[int(row["cdRef"])] += 1
            for z in counts:
                counts[z][tile_of(lon, lat, z)] += 1
    taxon = min(taxa.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    rows = []
    for z in range(5, 15):
        best = sorted(counts[z].items(), key=lambda kv: (-kv[1], kv[0]))[: a.top]
        for (x, y), n in best:
            for t in (None, taxon):
                rows.append((z, x, y, t, n * a.sample))
    with open(f"{a.out}/tiles.tsv", "w") as f:
        for z, x, y, t, n in rows:
            f.write(f"{z}\t{x}\t{y}\t{t or ''}\t{n}\n")
    for band, (lo, hi) in BANDS.items():
        sel = [r for r in rows if lo <= r[0] <= hi]
        with open(f"{a.out}/flou-{band}.txt", "w") as f:
            for z, x, y, t, _ in sel:
                f.write(f"/tiles/{z}/{x}/{y}.mvt" + (f"?taxon={t}" if t else "") + "\n")
        with open(f"{a.out}/martin-{band}.txt", "w") as f:
            for z, x, y, t, _ in sel:
                f.write(f"/flou_public/{z}/{x}/{y}" + (f"?taxon={t}" if t else "") + "\n")
    print(f"{len(rows)} tiles, taxon {taxon} ({taxa[taxon] * a.sample} observations)")


if __name__ == "__main__":
    main()
