#!/usr/bin/env node
// Drives the flou viewer in Debian's headless Chromium against a running `flou serve`.
//
//   node tests/browser/viewer.test.mjs URL OUTDIR
//
// URL is the server's root (http://127.0.0.1:PORT/), OUTDIR receives the screenshots.
// FLOU_VIEWER_TOKEN: a JWT the server accepts, granting the test data precisely; with it the
//   agent view is checked (precise observations drawn). Without it that part is reported as
//   not run and the summary says so.
// FLOU_VIEWER_DETAIL="lat,lon,zoom": where to look closely (default: found from the data,
//   the busiest department, then its busiest 10 km cell, at zoom 11).
// CHROMIUM: the browser binary (default /usr/bin/chromium).
//
// Exit code 0 when every check passed, 1 when one failed, 2 on a usage or start-up error.

import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

const GROUPS = ['aggregates', 'blurred', 'boundaries', 'observations'];
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const IDLE_TIMEOUT_MS = 90_000;
const GARBAGE_TOKEN = 'not-a-jwt.garbage.token';
const TILE_PATH = /^\/tiles\/\d+\/\d+\/\d+\.mvt$/;

// ---- checks ---------------------------------------------------------------------------------

const results = [];
function check(name, ok, detail = '') {
  results.push({ name, ok: Boolean(ok), detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} - ${name}${detail ? `: ${detail}` : ''}`);
  return Boolean(ok);
}
class Fatal extends Error {}

// ---- PNG decoding (8-bit RGB/RGBA, non-interlaced: what Chromium's screenshots are) ----------

function decodePng(buf) {
  const signature = '89504e470d0a1a0a';
  if (buf.subarray(0, 8).toString('hex') !== signature) throw new Error('screenshot is not a PNG');
  let offset = 8;
  let width = 0; let height = 0; let bitDepth = 0; let colorType = 0; let interlace = 0;
  const idat = [];
  while (offset < buf.length) {
    const length = buf.readUInt32BE(offset);
    const type = buf.toString('ascii', offset + 4, offset + 8);
    const data = buf.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      bitDepth = data[8]; colorType = data[9]; interlace = data[12];
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    offset += 12 + length;
  }
  if (bitDepth !== 8 || (colorType !== 2 && colorType !== 6) || interlace !== 0) {
    throw new Error(`unsupported PNG: depth ${bitDepth}, colour type ${colorType}, interlace ${interlace}`);
  }
  const channels = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let v;
      switch (filter) {
        case 0: v = line[i]; break;
        case 1: v = line[i] + a; break;
        case 2: v = line[i] + b; break;
        case 3: v = line[i] + ((a + b) >> 1); break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a); const pb = Math.abs(p - b); const pc = Math.abs(p - c);
          v = line[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default: throw new Error(`bad PNG filter ${filter} on row ${y}`);
      }
      cur[i] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      out[(y * width + x) * 4] = cur[x * channels];
      out[(y * width + x) * 4 + 1] = cur[x * channels + 1];
      out[(y * width + x) * 4 + 2] = cur[x * channels + 2];
      out[(y * width + x) * 4 + 3] = channels === 4 ? cur[x * channels + 3] : 255;
    }
    [prev, cur] = [cur, prev];
  }
  return { width, height, data: out };
}

// ---- colours expected from the style --------------------------------------------------------

function hex(color) {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(color).trim());
  if (!m) throw new Error(`style colour ${color} is not #rgb/#rrggbb`);
  const h = m[1].length === 3 ? m[1].split('').map((c) => c + c).join('') : m[1];
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
}
const blend = (c, a, bg) => c.map((v, i) => Math.round(a * v + (1 - a) * bg[i]));
const mix = (c1, c2, t) => c1.map((v, i) => v + (c2[i] - v) * t);

// Colour targets per tile layer: what a pixel of that layer looks like on the background
// where nothing else is drawn over it. Built from the style the server serves, so the test
// checks the page draws the style, whatever colours the style picks.
function colourTargets(style) {
  const layer = (id) => {
    const found = style.layers.find((l) => l.id === id);
    if (!found) throw new Error(`style has no layer ${id}`);
    return found;
  };
  const bg = hex(layer('background').paint['background-color']);
  const targets = {};

  const agg = layer('aggregates-fill').paint;
  const aggColor = agg['fill-color'];
  if (!Array.isArray(aggColor) || aggColor[0] !== 'interpolate') throw new Error('aggregates-fill colour is not an interpolation');
  const stops = [];
  for (let i = 3; i + 1 < aggColor.length; i += 2) stops.push(hex(aggColor[i + 1]));
  const ramp = [];
  for (let s = 0; s + 1 < stops.length; s++) {
    for (let k = 0; k < 32; k++) ramp.push(mix(stops[s], stops[s + 1], k / 32));
  }
  ramp.push(stops[stops.length - 1]);
  targets.aggregates = ramp.map((c) => blend(c, agg['fill-opacity'] ?? 1, bg));

  const blurred = layer('blurred-fill').paint;
  const match = blurred['fill-color'];
  targets.blurred = {};
  for (let i = 2; i + 1 < match.length; i += 2) {
    targets.blurred[match[i]] = blend(hex(match[i + 1]), blurred['fill-opacity'] ?? 1, bg);
  }

  const obs = layer('observations').paint['circle-color'];
  targets.observations = {};
  for (let i = 2; i + 1 < obs.length; i += 2) targets.observations[`level ${obs[i]}`] = hex(obs[i + 1]);
  targets.observations.sensitive = hex(obs[obs.length - 1]);
  return targets;
}

function inRects(x, y, rects) {
  for (const r of rects) if (x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height) return true;
  return false;
}

// Counts the pixels (outside the panel, legend and map controls) within `tolerance` of each
// named colour list; returns also, for each, the matching pixel nearest the image centre, to
// click on.
function countColours(img, named, excluded, tolerance = 4) {
  const counts = {}; const first = {}; const best = {};
  const names = Object.keys(named);
  for (const n of names) counts[n] = 0;
  const { width, height, data } = img;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (inRects(x, y, excluded)) continue;
      const o = (y * width + x) * 4;
      const r = data[o]; const g = data[o + 1]; const b = data[o + 2];
      for (const n of names) {
        for (const c of named[n]) {
          if (Math.abs(r - c[0]) <= tolerance && Math.abs(g - c[1]) <= tolerance && Math.abs(b - c[2]) <= tolerance) {
            counts[n] += 1;
            const d = (x - width / 2) ** 2 + (y - height / 2) ** 2;
            if (!(best[n] <= d)) { best[n] = d; first[n] = { x, y }; }
            break;
          }
        }
      }
    }
  }
  return { counts, first };
}

// ---- page helpers ---------------------------------------------------------------------------

async function waitIdle(page, what) {
  try {
    await page.waitForFunction(() => window.flou && window.flou.map, null, { timeout: IDLE_TIMEOUT_MS });
    await page.evaluate((timeout) => new Promise((resolve, reject) => {
      const map = window.flou.map;
      const timer = setTimeout(() => reject(new Error(`map not idle after ${timeout} ms`)), timeout);
      map.once('idle', () => { clearTimeout(timer); resolve(); });
      map.triggerRepaint();
    }), IDLE_TIMEOUT_MS);
  } catch (error) {
    const status = await page.locator('#status').textContent().catch(() => '?');
    throw new Fatal(`${what}: ${error.message} (viewer status: ${status})`);
  }
}

async function jumpTo(page, center, zoom) {
  await page.evaluate(([c, z]) => window.flou.map.jumpTo({ center: c, zoom: z }), [center, zoom]);
  await waitIdle(page, `after moving to ${center.map((v) => v.toFixed(4))} z${zoom}`);
}

async function rendered(page) {
  return page.evaluate((groups) => {
    const f = window.flou;
    const out = {};
    for (const g of groups) {
      const ids = f.styleLayersOf(g).filter((id) => f.map.getLayer(id));
      const features = f.map.queryRenderedFeatures({ layers: ids });
      out[g] = {
        count: features.length,
        features: features.map((x) => ({ properties: x.properties, geometry: x.geometry })),
      };
    }
    return out;
  }, GROUPS);
}

// Bounding-box centre of the outer ring of a (multi)polygon piece: good enough to aim at a
// department or a 10 km cell.
function aimAt(geometry) {
  const rings = geometry.type === 'Polygon' ? [geometry.coordinates[0]]
    : geometry.type === 'MultiPolygon' ? geometry.coordinates.map((p) => p[0]) : [];
  let minX = Infinity; let minY = Infinity; let maxX = -Infinity; let maxY = -Infinity;
  for (const ring of rings) {
    for (const [x, y] of ring) {
      minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
  }
  if (!Number.isFinite(minX)) throw new Fatal(`cannot aim at a ${geometry.type}`);
  return [(minX + maxX) / 2, (minY + maxY) / 2];
}

function busiest(features) {
  return features.reduce((best, f) => (!best || Number(f.properties.observations) > Number(best.properties.observations) ? f : best), null);
}

async function excludedRects(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll(
    '#panel, #legend-box, .maplibregl-ctrl, .maplibregl-popup',
  )).map((e) => { const r = e.getBoundingClientRect(); return { x: r.x - 2, y: r.y - 2, width: r.width + 4, height: r.height + 4 }; }));
}

async function shoot(page, outDir, name) {
  const path = join(outDir, name);
  const png = await page.screenshot({ path });
  return { path, img: decodePng(png), excluded: await excludedRects(page) };
}

async function setGroup(page, group, on) {
  const box = page.locator(`input[data-layer-group="${group}"]`);
  if (on) await box.check(); else await box.uncheck();
  await waitIdle(page, `after turning ${group} ${on ? 'on' : 'off'}`);
}

// Turning a layer off must remove its features from queryRenderedFeatures; on, bring them back.
async function checkToggle(page, group) {
  const before = (await rendered(page))[group].count;
  await setGroup(page, group, false);
  const off = (await rendered(page))[group].count;
  await setGroup(page, group, true);
  const back = (await rendered(page))[group].count;
  check(`toggle ${group}: off hides its features, on shows them again`,
    before > 0 && off === 0 && back > 0, `${before} → ${off} → ${back}`);
}

// The taxon filter: only that taxon's observations are drawn, the tile URLs carry it, and
// Reset brings everything back. A malformed value is refused in the panel.
async function checkTaxonFilter(page, tileResponses, pending) {
  const all = (await rendered(page)).observations.features;
  const byTaxon = new Map();
  for (const f of all) byTaxon.set(f.properties.cd_ref, (byTaxon.get(f.properties.cd_ref) || 0) + 1);
  const [taxon, n] = [...byTaxon.entries()].sort((a, b) => b[1] - a[1])[0] || [];
  if (!check('observations of several taxa to filter', byTaxon.size > 1, `${byTaxon.size} taxa`)) return;
  await page.locator('#filter-taxon').fill('12abc');
  await page.locator('#filters button[type="submit"]').click();
  check('malformed taxon refused in the panel', await page.locator('#filter-error').isVisible());
  const seen = tileResponses.length;
  await page.locator('#filter-taxon').fill(String(taxon));
  await page.locator('#filters button[type="submit"]').click();
  await waitIdle(page, 'after a taxon filter');
  await Promise.allSettled(pending);
  const filtered = (await rendered(page)).observations.features;
  const sameTaxon = filtered.filter((f) => f.properties.cd_ref === taxon).length;
  const urls = tileResponses.slice(seen).map((r) => new URL(r.url));
  check(`taxon filter ${taxon}: its observations kept, the others dropped`, filtered.length > 0 && filtered.length < all.length && sameTaxon === n,
    `${all.length} → ${filtered.length}, ${sameTaxon} of ${n} with cd_ref ${taxon}`);
  check('taxon filter sent with every tile request', urls.length > 0 && urls.every((u) => u.searchParams.get('taxon') === String(taxon)),
    `${urls.length} requests`);
  await page.locator('#filters-reset').click();
  await waitIdle(page, 'after resetting the filters');
  const back = (await rendered(page)).observations.features.length;
  check('filter reset: every observation back', back === all.length, `${back} of ${all.length}`);
}

async function applyToken(page, token) {
  await page.locator('#token').fill(token);
  await page.locator('#token-form button[type="submit"]').click();
  await waitIdle(page, 'after applying a token');
}

// A public caller never sees a sensitive record precisely, whatever the platform's policy.
function checkNoSensitivePoints(what, features) {
  const sensitive = features.filter((f) => String(f.properties.level) !== '0');
  check(`${what}: no sensitive record drawn as a precise point`, sensitive.length === 0,
    sensitive.length ? `${sensitive.length} points, levels ${[...new Set(sensitive.map((f) => f.properties.level))].join(',')}` : '');
}

// ---- the scenario ---------------------------------------------------------------------------

async function run(baseUrl, outDir) {
  const base = new URL(baseUrl);
  if (base.hostname !== '127.0.0.1') throw new Fatal(`URL must be on 127.0.0.1, got ${base.hostname}`);
  mkdirSync(outDir, { recursive: true });
  const token = process.env.FLOU_VIEWER_TOKEN || '';
  const detailOverride = process.env.FLOU_VIEWER_DETAIL || '';

  const userDataDir = mkdtempSync(join(tmpdir(), 'flou-viewer-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
  });
  const summary = {};
  try {
    const requests = [];
    const offHost = [];
    const tileResponses = [];
    const pending = [];
    const pageErrors = [];
    // Anything not for the server under test is refused and remembered.
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === base.hostname && url.port === base.port) return route.continue();
      offHost.push(url.href);
      return route.abort('blockedbyclient');
    });
    context.on('request', (req) => requests.push(req.url()));
    context.on('response', (resp) => {
      const url = new URL(resp.url());
      if (!TILE_PATH.test(url.pathname)) return;
      pending.push((async () => {
        let size = -1;
        try { size = (await resp.body()).length; } catch { /* body gone with a navigation */ }
        const headers = await resp.request().allHeaders();
        tileResponses.push({
          url: resp.url(), status: resp.status(), size,
          vary: resp.headers().vary || '', cacheControl: resp.headers()['cache-control'] || '',
          authorization: headers.authorization || '',
        });
      })());
    });

    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // The page's Content-Security-Policy blocks other origins before any request is made;
    // a blocked attempt is a failure too.
    await page.addInitScript(() => {
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });

    // The viewer's own files name no other host: everything is served from here.
    const ownFiles = ['/', '/assets/viewer.js', '/assets/viewer.css', '/styles/flou.json'];
    const foreign = [];
    for (const path of ownFiles) {
      const resp = await context.request.get(new URL(path, base).href);
      check(`GET ${path} answers 200`, resp.status() === 200, `${resp.status()} ${resp.headers()['content-type'] || ''}`);
      for (const m of (await resp.text()).matchAll(/\b(?:https?:)?\/\/([a-z0-9.-]+\.[a-z]{2,})/gi)) foreign.push(`${path}: ${m[0]}`);
    }
    check('viewer files name no other host (no CDN)', foreign.length === 0, foreign.slice(0, 3).join(' '));

    // 1. Low zoom on the TileJSON centre: department aggregates.
    const startUrl = new URL(base);
    startUrl.searchParams.set('z', '5.5');
    await page.goto(startUrl.href);
    await waitIdle(page, 'first load');
    const style = await page.evaluate(() => window.flou.state.style);
    const targets = colourTargets(style);
    let r = await rendered(page);
    check('z5.5: aggregates features rendered', r.aggregates.count > 0,
      `${r.aggregates.count} features, units ${[...new Set(r.aggregates.features.map((f) => f.properties.unit))].join(',')}`);
    check('z5.5: aggregates are departments', r.aggregates.features.every((f) => f.properties.unit === 'departement'));
    check('z5.5: boundaries rendered', r.boundaries.count > 0, `${r.boundaries.count} features`);
    let shot = await shoot(page, outDir, '1-aggregates-z5.png');
    let colours = countColours(shot.img, { aggregates: targets.aggregates }, shot.excluded);
    check('z5.5 screenshot: aggregate choropleth colours drawn', colours.counts.aggregates >= 500,
      `${colours.counts.aggregates} px`);
    summary.aggregatePx = colours.counts.aggregates;
    const legendText = await page.locator('#legend').textContent();
    const legendWanted = style.layers.flatMap((l) => (l.metadata && l.metadata['flou:legend']
      ? [l.metadata['flou:legend'], ...Object.values(l.metadata['flou:legend-labels'] || {})] : []));
    const legendMissing = legendWanted.filter((s) => !legendText.includes(s));
    check('legend shows every styled layer and class', legendWanted.length >= 6 && legendMissing.length === 0,
      legendMissing.length ? `missing ${legendMissing.join(' | ')}` : `${legendWanted.length} entries`);
    await checkToggle(page, 'aggregates');
    await checkToggle(page, 'boundaries');

    // 2. Close up, public: blurred areas (every public record is at least at the commune).
    let detail;
    if (detailOverride) {
      const [lat, lon, z] = detailOverride.split(',').map(Number);
      detail = { center: [lon, lat], zoom: z || 11 };
    } else {
      const dept = busiest(r.aggregates.features);
      if (!dept) throw new Fatal('no aggregate to aim at');
      await jumpTo(page, aimAt(dept.geometry), 8);
      const cells = (await rendered(page)).aggregates.features.filter((f) => f.properties.unit === 'maille10');
      check('z8: aggregates are 10 km cells', cells.length > 0, `${cells.length} cells around ${dept.properties.name || dept.properties.code}`);
      const cell = busiest(cells);
      if (!cell) throw new Fatal('no 10 km aggregate to aim at');
      detail = { center: aimAt(cell.geometry), zoom: 11 };
    }
    summary.detail = `${detail.center[1].toFixed(4)},${detail.center[0].toFixed(4)} z${detail.zoom}`;
    await jumpTo(page, detail.center, detail.zoom);
    r = await rendered(page);
    check(`z${detail.zoom} public: blurred areas rendered`, r.blurred.count > 0,
      `${r.blurred.count} features, kinds ${[...new Set(r.blurred.features.map((f) => f.properties.kind))].join(',')}`);
    check(`z${detail.zoom} public: no aggregates past z9`, r.aggregates.count === 0, `${r.aggregates.count}`);
    checkNoSensitivePoints(`z${detail.zoom} public`, r.observations.features);
    shot = await shoot(page, outDir, '2-public-detail.png');
    colours = countColours(shot.img, Object.fromEntries(Object.entries(targets.blurred).map(([k, c]) => [k, [c]])), shot.excluded);
    const blurredPx = Object.values(colours.counts).reduce((a, b) => a + b, 0);
    check('public screenshot: blurred-area colours drawn', blurredPx >= 200,
      Object.entries(colours.counts).map(([k, n]) => `${k} ${n} px`).join(', '));
    summary.blurredPx = blurredPx;
    await checkToggle(page, 'blurred');

    // Popup on a blurred area: its properties, as text only.
    const kindSeen = Object.keys(colours.first)[0];
    if (check('a blurred pixel to click on', Boolean(kindSeen))) {
      const at = colours.first[kindSeen];
      await page.mouse.click(at.x + 1, at.y + 1);
      const popup = page.locator('.maplibregl-popup');
      await popup.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {});
      const popupText = (await popup.count()) ? await popup.first().textContent() : '';
      check('popup shows the blurred area properties', popupText.includes('observations') && popupText.includes('kind'),
        popupText.slice(0, 120).replace(/\s+/g, ' '));
      const tags = await page.evaluate(() => Array.from(document.querySelectorAll('.maplibregl-popup .popup *')).map((e) => e.tagName));
      const foreign = tags.filter((t) => !['DIV', 'DL', 'DT', 'DD', 'P'].includes(t));
      check('popup holds no markup from the data', tags.length > 0 && foreign.length === 0, foreign.join(','));
      await shoot(page, outDir, '3-popup.png');
      await page.locator('.maplibregl-popup-close-button').first().click().catch(() => {});
    }

    // 3. The agent view: precise observations.
    if (token) {
      await applyToken(page, token);
      const rightsText = await page.locator('#rights').textContent();
      check('agent token accepted', rightsText.includes('accepted') && await page.locator('#token-refused').isHidden(), rightsText);
      r = await rendered(page);
      const levels = [...new Set(r.observations.features.map((f) => String(f.properties.level)))];
      check(`z${detail.zoom} agent: observations rendered`, r.observations.count > 0,
        `${r.observations.count} points, levels ${levels.join(',')}`);
      shot = await shoot(page, outDir, '4-agent-detail.png');
      colours = countColours(shot.img, Object.fromEntries(Object.entries(targets.observations).map(([k, c]) => [k, [c]])), shot.excluded, 2);
      const expected = levels.map((l) => (targets.observations[`level ${l}`] ? `level ${l}` : 'sensitive'));
      const missing = [...new Set(expected)].filter((k) => colours.counts[k] < 10);
      check('agent screenshot: observation colours of every rendered level drawn', levels.length > 0 && missing.length === 0,
        `${Object.entries(colours.counts).map(([k, n]) => `${k} ${n} px`).join(', ')}${missing.length ? `; missing ${missing.join(',')}` : ''}`);
      summary.observationPx = Object.values(colours.counts).reduce((a, b) => a + b, 0);
      await checkToggle(page, 'observations');
      await checkTaxonFilter(page, tileResponses, pending);
      const agentTiles = tileResponses.filter((t) => t.authorization === `Bearer ${token}`);
      check('agent tile requests carry the token', agentTiles.length > 0 && agentTiles.every((t) => t.status === 200),
        `${agentTiles.length} requests`);
    } else {
      console.log('note - FLOU_VIEWER_TOKEN not set: agent view (precise observations) not checked');
    }

    // 4. A garbage token: "token refused" in the panel, then back to public.
    await applyToken(page, GARBAGE_TOKEN);
    const refused = page.locator('#token-refused');
    const refusedText = (await refused.isVisible()) ? await refused.textContent() : '';
    check('garbage token: "token refused" shown', refusedText.includes('token refused'), refusedText);
    await shoot(page, outDir, '5-token-refused.png');
    r = await rendered(page);
    check('garbage token: nothing from the refused tiles drawn', r.blurred.count === 0 && r.observations.count === 0,
      `blurred ${r.blurred.count}, observations ${r.observations.count}`);
    await page.locator('#token-clear').click();
    await waitIdle(page, 'after clearing the token');
    r = await rendered(page);
    check('token cleared: public view back', await refused.isHidden() && r.blurred.count > 0 &&
      (await page.locator('#rights').textContent()).includes('Public'), `blurred ${r.blurred.count}`);
    checkNoSensitivePoints('public again', r.observations.features);

    // 5. The network, over the whole run.
    await Promise.allSettled(pending);
    const garbage = tileResponses.filter((t) => t.authorization === `Bearer ${GARBAGE_TOKEN}`);
    const others = tileResponses.filter((t) => t.authorization !== `Bearer ${GARBAGE_TOKEN}`);
    const ok = others.filter((t) => t.status === 200 && t.size > 0);
    const bad = others.filter((t) => t.status !== 200 && t.status !== 204);
    check('tile requests answered 200 with a body', ok.length >= 10 && bad.length === 0,
      `${ok.length} of ${others.length} non-empty 200${bad.length ? `; ${bad.length} failed, e.g. ${bad[0].status} ${bad[0].url}` : ''}`);
    check('garbage-token tile requests answered 401', garbage.length > 0 && garbage.every((t) => t.status === 401),
      `${garbage.length} requests, statuses ${[...new Set(garbage.map((t) => t.status))].join(',')}`);
    const served = tileResponses.filter((t) => t.status === 200);
    const noVary = served.filter((t) => !/(^|,)\s*authorization\s*(,|$)/i.test(t.vary));
    check('served tiles say Vary: Authorization', served.length > 0 && noVary.length === 0,
      noVary.length ? `${noVary.length} without, e.g. ${noVary[0].url}` : `${served.length} tiles`);
    // A tile made for a token must never be stored by a shared cache.
    const sharedAgent = served.filter((t) => t.authorization && !/\b(private|no-store)\b/i.test(t.cacheControl));
    check('agent tiles are not cacheable by shared caches', (!token || served.some((t) => t.authorization)) && sharedAgent.length === 0,
      sharedAgent.length ? `${sharedAgent[0].cacheControl || 'no Cache-Control'} on ${sharedAgent[0].url}` : '');
    const notLocal = requests.filter((u) => {
      const url = new URL(u);
      return !(url.protocol === 'data:' || url.protocol === 'blob:' || (url.hostname === '127.0.0.1' && url.port === base.port));
    });
    check('every request went to the server on 127.0.0.1', offHost.length === 0 && notLocal.length === 0 && requests.length > 0,
      `${requests.length} requests${notLocal.length ? `; elsewhere: ${[...new Set(notLocal)].slice(0, 5).join(' ')}` : ''}`);
    check('no uncaught page errors', pageErrors.length === 0, pageErrors.slice(0, 3).join(' | '));
    const csp = await page.evaluate(() => window.__cspViolations);
    check('no Content-Security-Policy violation', csp.length === 0, csp.slice(0, 3).join(' | '));
    summary.requests = requests.length;
    summary.tiles = tileResponses.length;
  } finally {
    await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  }
  return summary;
}

const [baseUrl, outDir] = process.argv.slice(2);
if (!baseUrl || !outDir) {
  console.error('usage: node viewer.test.mjs URL OUTDIR   (e.g. http://127.0.0.1:8080/ /tmp/shots)');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
let summary = {};
let fatal = null;
try {
  summary = await run(baseUrl, outDir);
} catch (error) {
  fatal = error;
  check('scenario ran to the end', false, error instanceof Fatal ? error.message : (error.stack || String(error)));
}
const failed = results.filter((x) => !x.ok);
writeFileSync(join(outDir, 'results.json'), JSON.stringify({ summary, results }, null, 2));
console.log(`viewer: ${results.length - failed.length} passed, ${failed.length} failed` +
  ` (${summary.tiles ?? 0} tile responses, ${summary.requests ?? 0} requests, detail ${summary.detail ?? '-'},` +
  ` px aggregates ${summary.aggregatePx ?? 0} blurred ${summary.blurredPx ?? 0} observations ${summary.observationPx ?? 'n/a'};` +
  ` screenshots in ${outDir})`);
process.exit(failed.length ? 1 : (fatal ? 2 : 0));
