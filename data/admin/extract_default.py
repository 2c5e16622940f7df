#!/usr/bin/env python3
"""Extracts the default administrative areas shipped with flou.

Keeps the communes and departments of the 2016 regions Auvergne-Rhone-Alpes (84) and
Provence-Alpes-Cote d'Azur (93), at full resolution, from the national files of
github.com/gregoiredavid/france-geojson (IGN ADMIN EXPRESS COG 2018).

Usage: extract_default.py SOURCE_DIR OUTPUT_DIR
  SOURCE_DIR holds communes.geojson and departements.geojson (national, WGS84);
  OUTPUT_DIR receives communes.geojson and departements.geojson (compact JSON,
  properties `code` and `nom` only, features sorted by code).
Standard library only.
"""

import json
import os
import sys

# Region 84 (Auvergne-Rhone-Alpes) then region 93 (Provence-Alpes-Cote d'Azur).
DEPARTEMENTS = [
    "01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",
    "04", "05", "06", "13", "83", "84",
]


def departement_of(commune_code):
    """Department code of an INSEE commune code: 3 characters overseas, else 2."""
    return commune_code[:3] if commune_code.startswith("97") else commune_code[:2]


def keep(features, wanted):
    kept = []
    for feature in features:
        props = feature["properties"]
        if wanted(props["code"]):
            kept.append(
                {
                    "type": "Feature",
                    "properties": {"code": props["code"], "nom": props["nom"]},
                    "geometry": feature["geometry"],
                }
            )
    kept.sort(key=lambda f: f["properties"]["code"])
    return kept


def write(path, features):
    with open(path, "w", encoding="utf-8") as out:
        json.dump(
            {"type": "FeatureCollection", "features": features},
            out,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        out.write("\n")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, output = sys.argv[1], sys.argv[2]
    wanted = set(DEPARTEMENTS)
    with open(os.path.join(source, "communes.geojson"), encoding="utf-8") as f:
        communes = keep(json.load(f)["features"], lambda c: departement_of(c) in wanted)
    with open(os.path.join(source, "departements.geojson"), encoding="utf-8") as f:
        departements = keep(json.load(f)["features"], lambda c: c in wanted)
    found = {d["properties"]["code"] for d in departements}
    missing = wanted - found
    if missing:
        sys.exit(f"departments missing from the source: {sorted(missing)}")
    write(os.path.join(output, "communes.geojson"), communes)
    write(os.path.join(output, "departements.geojson"), departements)
    print(f"{len(communes)} communes, {len(departements)} departments")


if __name__ == "__main__":
    main()
