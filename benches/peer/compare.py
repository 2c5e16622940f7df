#!/usr/bin/env python3
"""Light correctness check of the peer against flou (issue #4 benchmark).

Fetches the same tiles from both servers, decodes them (mapbox-vector-tile) and compares
the layer names, the number of precise observations drawn (a point counts 1, a point group
of a dense tile its `observations`) with the number of point groups, and the number of
observations per blurred area and per aggregate unit (matched by their code). Prints a
Markdown table.

  python3 benches/peer/compare.py TILES_TSV FLOU_URL MARTIN_URL [--per-zoom 1]
"""
import argparse
import sys
import urllib.request

import mapbox_vector_tile


def fetch(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.read()


def summary(raw):
    tile = mapbox_vector_tile.decode(raw)
    out = {"layers": sorted(tile), "points": 0, "groups": 0, "units": {}}
    for name, layer in tile.items():
        feats = layer["features"]
        if name == "observations":
            for f in feats:
                n = f["properties"].get("observations")
                out["points"] += 1 if n is None else int(n)
                out["groups"] += 0 if n is None else 1
        elif name in ("blurred", "aggregates"):
            for f in feats:
                p = f["properties"]
                out["units"][(name, p.get("code"))] = int(p.get("observations", 0))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tiles")
    ap.add_argument("flou")
    ap.add_argument("martin")
    ap.add_argument("--per-zoom", type=int, default=1)
    a = ap.parse_args()
    rows, seen = [], {}
    for line in open(a.tiles):
        z, x, y, taxon, _ = line.rstrip("\n").split("\t")
        key = (z, taxon != "")
        if seen.get(key, 0) >= a.per_zoom:
            continue
        seen[key] = seen.get(key, 0) + 1
        q = f"?taxon={taxon}" if taxon else ""
        f = summary(fetch(f"{a.flou}/tiles/{z}/{x}/{y}.mvt{q}"))
        m = summary(fetch(f"{a.martin}/flou_public/{z}/{x}/{y}{q}"))
        codes = set(f["units"]) | set(m["units"])
        same = sum(1 for c in codes if f["units"].get(c) == m["units"].get(c))
        fo = sum(f["units"].values())
        mo = sum(m["units"].values())
        diff = sorted(c for c in codes if f["units"].get(c) != m["units"].get(c))[:2]
        rows.append(
            f"| {z}/{x}/{y}{q} | {','.join(f['layers'])} | {','.join(m['layers'])} "
            f"| {f['points']} / {m['points']} | {f['groups']} / {m['groups']} | {len(f['units'])} / {len(m['units'])} "
            f"| {same} of {len(codes)} | {fo} / {mo} | "
            + "; ".join(f"{c[0]} {c[1]}: {f['units'].get(c)} vs {m['units'].get(c)}" for c in diff)
            + " |"
        )
    print("| tile | flou layers | peer layers | precise observations flou / peer "
          "| point groups flou / peer | areas+units flou / peer "
          "| same count | observations in areas+units flou / peer | first differences |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    sys.exit(main())
