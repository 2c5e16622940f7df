#!/usr/bin/env python3
"""z0–z6 tiles covering metropolitan France, each timed uncached (issue #4 target: ≤ 50 ms).

  python3 benches/france_tiles.py BASE_URL [TOKEN]

Every tile of z0..z6 meeting France's box is fetched REPEAT times in sequence (one client,
no concurrency) from a flou started with `cache_mb = 0`; prints one markdown row per zoom:
tiles, the median and the slowest of all fetches, in ms. With TOKEN, as an agent.
"""
import math
import statistics
import sys
import time
import urllib.request

FRANCE = (-5.3, 41.3, 9.7, 51.2)
REPEAT = 3


def tile_range(z):
    n = 1 << z

    def xy(lon, lat):
        s = math.sin(math.radians(lat))
        x = int((lon + 180.0) / 360.0 * n)
        y = int((0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * n)
        return min(max(x, 0), n - 1), min(max(y, 0), n - 1)

    (x0, y0), (x1, y1) = xy(FRANCE[0], FRANCE[3]), xy(FRANCE[2], FRANCE[1])
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def main():
    base = sys.argv[1].rstrip("/")
    token = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for z in range(0, 7):
        times = []
        tiles = tile_range(z)
        for x, y in tiles:
            for _ in range(REPEAT):
                req = urllib.request.Request(f"{base}/tiles/{z}/{x}/{y}.mvt", headers=headers)
                t0 = time.perf_counter()
                with urllib.request.urlopen(req) as r:
                    r.read()
                    assert r.status == 200
                times.append((time.perf_counter() - t0) * 1000)
        print(f"| {z} | {len(tiles)} | {statistics.median(times):.1f} | {max(times):.1f} |")


if __name__ == "__main__":
    main()
