#!/usr/bin/env python3
"""Independent decoder for flou's vector tile tests.

Decodes each tile twice: with the `mapbox-vector-tile` package (PyPI) for geometry and
properties, and from its protobuf classes for a strict reading of the raw command
stream against the MVT spec v2.1 (command counts, no zero-length LineTo, no repeated
first point before ClosePath, ring areas by the surveyor's formula, coordinates inside
the buffered square, unique keys, values and layer names, version 2, extent present).

usage: mvt_oracle.py BUFFER [TILE_FILE ...]   (no file: one tile on stdin)
prints a JSON list, one object per tile.
"""
import json
import sys

try:
    import mapbox_vector_tile
    from mapbox_vector_tile.Mapbox import vector_tile_pb2
except ImportError as e:  # the Rust test turns this exit code into a failure
    print(f"mapbox-vector-tile is not installed ({e}): python3 -m pip install mapbox-vector-tile", file=sys.stderr)
    sys.exit(3)

POINT, LINESTRING, POLYGON = 1, 2, 3


def zigzag_decode(v):
    return (v >> 1) ^ -(v & 1)


def ring_area2(ring):
    """Twice the signed area, surveyor's formula, ring given open."""
    n = len(ring)
    return sum(ring[i][0] * ring[(i + 1) % n][1] - ring[(i + 1) % n][0] * ring[i][1] for i in range(n))


def read_commands(geom, problems):
    """[(id, count, [absolute points])] with the cursor carried across commands."""
    out, i, x, y = [], 0, 0, 0
    while i < len(geom):
        cmd_id, count = geom[i] & 7, geom[i] >> 3
        i += 1
        if cmd_id not in (1, 2, 7):
            problems.append(f"unknown command id {cmd_id}")
            return out
        if count == 0:
            problems.append(f"command {cmd_id} with count 0")
        points = []
        if cmd_id in (1, 2):
            if i + 2 * count > len(geom):
                problems.append("geometry ends inside a command's parameters")
                return out
            for _ in range(count):
                dx, dy = zigzag_decode(geom[i]), zigzag_decode(geom[i + 1])
                i += 2
                if cmd_id == 2 and dx == 0 and dy == 0:
                    problems.append(f"zero-length LineTo at ({x},{y})")
                x, y = x + dx, y + dy
                points.append([x, y])
        elif count != 1:
            problems.append(f"ClosePath with count {count}")
        out.append((cmd_id, count, points))
    return out


def check_geometry(feature, lo, hi, problems):
    commands = read_commands(list(feature.geometry), problems)
    raw = []
    for _, _, pts in commands:
        for x, y in pts:
            if not (lo <= x <= hi and lo <= y <= hi):
                problems.append(f"coordinate ({x},{y}) outside [{lo},{hi}]")
    if feature.type == POINT:
        if len(commands) != 1 or commands[0][0] != 1:
            problems.append(f"point geometry is not a single MoveTo: {[c[:2] for c in commands]}")
        raw = [p for c in commands for p in c[2]]
    elif feature.type == POLYGON:
        if len(commands) % 3 != 0 or not commands:
            problems.append(f"polygon commands not in MoveTo/LineTo/ClosePath triples: {[c[:2] for c in commands]}")
        for k in range(0, len(commands) - 2, 3):
            (m, mc, mp), (l, lc, lp), (c, _, _) = commands[k], commands[k + 1], commands[k + 2]
            if (m, l, c) != (1, 2, 7):
                problems.append(f"ring {k // 3} commands are {(m, l, c)}, not MoveTo LineTo ClosePath")
                continue
            if mc != 1:
                problems.append(f"ring {k // 3} MoveTo count {mc}")
            if lc < 2:
                problems.append(f"ring {k // 3} LineTo count {lc} (< 2)")
            ring = mp + lp
            if ring[-1] == ring[0]:
                problems.append(f"ring {k // 3} repeats its first point before ClosePath")
            area2 = ring_area2(ring)
            if area2 == 0:
                problems.append(f"ring {k // 3} has zero area")
            if k == 0 and area2 < 0:
                problems.append("first ring of the feature is not exterior (negative area)")
            raw.append({"ring": ring, "area2": area2})
    else:
        problems.append(f"unexpected geometry type {feature.type}")
    return raw


def value_of(v):
    fields = v.ListFields()
    if len(fields) != 1:
        return None, f"value with {len(fields)} fields set"
    field, val = fields[0]
    return [field.name, val], None


def check_tile(data, buffer):
    problems = []
    tile = vector_tile_pb2.tile()
    tile.ParseFromString(data)
    decoded = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    layers = []
    names = [layer.name for layer in tile.layers]
    if len(set(names)) != len(names):
        problems.append(f"duplicate layer names {names}")
    for layer in tile.layers:
        where = f"layer {layer.name!r}"
        if layer.version != 2:
            problems.append(f"{where}: version {layer.version}")
        if not layer.HasField("extent"):
            problems.append(f"{where}: no extent field")
        if not layer.features:
            problems.append(f"{where}: empty layer written")
        keys = list(layer.keys)
        if len(set(keys)) != len(keys):
            problems.append(f"{where}: duplicate keys {keys}")
        values = []
        for v in layer.values:
            val, err = value_of(v)
            if err:
                problems.append(f"{where}: {err}")
            values.append(val)
        if len({json.dumps(v) for v in values}) != len(values):
            problems.append(f"{where}: duplicate values {values}")
        lo, hi = -buffer, layer.extent + buffer
        features = []
        lib_features = decoded[layer.name]["features"]
        for n, (f, lib) in enumerate(zip(layer.features, lib_features)):
            fproblems = []
            tags = list(f.tags)
            if len(tags) % 2:
                fproblems.append("odd tag count")
            for k in range(0, len(tags) - 1, 2):
                if tags[k] >= len(keys) or tags[k + 1] >= len(values):
                    fproblems.append(f"tag index out of range {tags[k:k + 2]}")
            if not f.HasField("type"):
                fproblems.append("no geometry type")
            raw = check_geometry(f, lo, hi, fproblems)
            problems.extend(f"{where} feature {n}: {p}" for p in fproblems)
            features.append({
                "id": f.id if f.HasField("id") else None,
                "type": f.type,
                "tags": tags,
                "raw": raw,
                "properties": lib["properties"],
                "geometry": lib["geometry"],
            })
        layers.append({
            "name": layer.name,
            "version": layer.version,
            "extent": layer.extent,
            "keys": keys,
            "values": values,
            "features": features,
        })
    return {"layers": layers, "problems": problems}


def main():
    buffer = int(sys.argv[1])
    files = sys.argv[2:]
    blobs = [open(p, "rb").read() for p in files] if files else [sys.stdin.buffer.read()]
    out = []
    for data in blobs:
        try:
            out.append(check_tile(data, buffer))
        except Exception as e:  # a tile the package cannot parse is a finding, not a crash
            out.append({"layers": [], "problems": [f"decoder error: {type(e).__name__}: {e}"]})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
