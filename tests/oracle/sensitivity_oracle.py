#!/usr/bin/env python3
"""An independent implementation of the SINP sensitivity algorithm (DOMAIN.md, GINCO), used
as the oracle of flou's end-to-end tests. It shares no code with flou: it reads the same
input files with Python's csv module and writes, for each observation and each evaluation
day, the columns of `flou sensitivity-report`:

    idSINPOccTax,sensiNiveau,sensiAlerte,cdSl,ruleId,sensitiveUntil  (sorted by id)

The commune of each observation comes from the file itself (GeoNature's `id_municipality`
or the SINP `codeCommune` column), not from flou's point location.

usage: sensitivity_oracle.py DATA_DIR OCCURRENCES.csv DAY
  DATA_DIR holds sensitivity/{especesensible,especesensiblelistes,departements_regions_2015}.csv
  and taxonomy/bib_noms.csv (cd_nom -> cd_ref; no parents in that file).
"""
import csv
import datetime as dt
import sys

UNKNOWN_STATUS = {"", "0", "1", "2"}


def dept_of_commune(code):
    return code[:3] if code.startswith("97") else code[:2]


def norm_dept(d):
    d = d.strip()
    if d == "D4":
        return "974"
    if d.isdigit() and len(d) == 1:
        return "0" + d
    return d


def add_years(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year + years, day=28)


def main():
    data, occ_path, day = sys.argv[1], sys.argv[2], dt.date.fromisoformat(sys.argv[3])
    with open(f"{data}/sensitivity/especesensible.csv", newline="", encoding="utf-8") as f:
        rules = list(csv.DictReader(f))
    with open(f"{data}/sensitivity/especesensiblelistes.csv", newline="", encoding="utf-8") as f:
        lists = list(csv.DictReader(f))
    with open(f"{data}/sensitivity/departements_regions_2015.csv", newline="", encoding="utf-8") as f:
        region_of = {r["code_departement"]: r["code_region_2015"] for r in csv.DictReader(f)}
    with open(f"{data}/taxonomy/bib_noms.csv", newline="", encoding="utf-8") as f:
        cd_ref_of = {int(r["cd_nom"]): int(r["cd_ref"]) for r in csv.DictReader(f)}

    regional = {}  # region code (int) -> cd_sl
    for l in lists:
        if l["cd_insee_reg"].strip():
            regional[int(l["cd_insee_reg"])] = int(l["cd_sl"])

    by_key = {}
    for r in rules:
        by_key.setdefault((norm_dept(r["cd_dept"]), int(r["cd_nom"])), []).append(r)

    out = []
    with open(occ_path, newline="", encoding="utf-8-sig") as f:
        for o in csv.DictReader(f):
            oid = o.get("idSINPOccTax") or o["unique_id_sinp"]
            cd_nom = int(o.get("cdNom") or o["cd_nom"])
            commune = o.get("codeCommune") or o.get("id_municipality") or ""
            if not commune:
                continue
            dept = dept_of_commune(commune)
            date_fin = dt.date.fromisoformat((o.get("dateFin") or o.get("date_max") or o.get("dateDebut") or o["date_min"])[:10])
            status = (o.get("occStatutBiologique") or "").strip()
            taxa = {cd_nom, cd_ref_of.get(cd_nom, cd_nom)}
            if (o.get("cdRef") or "").strip():
                taxa.add(int(o["cdRef"]))
            region = region_of.get(dept)
            list_sl = regional.get(int(region)) if region else None
            applicable = list_sl if list_sl is not None else 9

            def applies(r, on):
                if int(r["cd_sl"]) != applicable:
                    return False
                rs = r["cd_occ_statut_biologique"].strip()
                if rs and status not in UNKNOWN_STATUS and status != rs:
                    return False
                if r["duree"].strip() and not on < add_years(date_fin, int(r["duree"])):
                    return False
                return True

            candidates = [r for t in taxa for r in by_key.get((dept, t), [])]

            def choose(on):
                active = [r for r in candidates if applies(r, on)]
                if not active:
                    return None
                return min(active, key=lambda r: (-int(r["codage"]), r["autre"].strip() != "", int(r["id"])))

            best = choose(day)
            if best is None:
                out.append((oid, "0", "NON", "", "", ""))
                continue
            # The first day with no active rule at all: search the expiry dates after `day`.
            ends = sorted({add_years(date_fin, int(r["duree"])) for r in candidates
                           if applies(r, day) and r["duree"].strip()})
            until = ""
            if all(r["duree"].strip() for r in candidates if applies(r, day)):
                for e in ends:
                    if choose(e) is None:
                        until = e.isoformat()
                        break
            out.append((oid, best["codage"], "OUI" if best["autre"].strip() else "NON",
                        best["cd_sl"], best["id"], until))
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["idSINPOccTax", "sensiNiveau", "sensiAlerte", "cdSl", "ruleId", "sensitiveUntil"])
    for row in sorted(out):
        w.writerow(row)


if __name__ == "__main__":
    main()
