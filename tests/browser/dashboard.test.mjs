#!/usr/bin/env node
// Drives the flou indicators dashboard (/dashboard) in Debian's headless Chromium against a
// running `flou serve`, and checks that what the page shows matches the indicator API.
//
//   node tests/browser/dashboard.test.mjs URL OUTDIR
//
// URL is the server's root (http://127.0.0.1:PORT/), OUTDIR receives screenshots and the
// downloaded CSV. FLOU_DASHBOARD_TOKEN: an agent JWT; with it the agent view is checked too.
// CHROMIUM: the browser binary (default /usr/bin/chromium).
// Exit code 0 when every check passed, 1 when one failed, 2 on a usage or start-up error.

import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const TIMEOUT_MS = 90_000;

const results = [];
function check(name, ok, detail = '') {
  results.push({ name, ok: Boolean(ok), detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} - ${name}${detail ? `: ${detail}` : ''}`);
  return Boolean(ok);
}

async function api(base, path, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const r = await fetch(new URL(path, base), { headers });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return path.includes('format=csv') ? r.text() : r.json();
}

// Waits until the page finished its `n`-th load (body[data-loaded]).
async function loaded(page, n) {
  await page.waitForFunction((k) => Number(document.body.dataset.loaded || 0) >= k, n, { timeout: TIMEOUT_MS });
}

// The table as the page shows it: column → text, per row.
async function shownTable(page) {
  return page.evaluate(() => {
    const cols = [...document.querySelectorAll('#table thead th')].map((th) => th.textContent);
    return [...document.querySelectorAll('#table tbody tr')].map((tr) => {
      const row = {};
      [...tr.children].forEach((td, i) => { row[cols[i]] = td.textContent; });
      return row;
    });
  });
}

function sameTable(shown, answer) {
  if (shown.length !== answer.rows.length) return `rows ${shown.length} vs API ${answer.rows.length}`;
  for (let i = 0; i < shown.length; i += 1) {
    for (const c of answer.columns) {
      const want = answer.rows[i][c] === null ? '' : String(answer.rows[i][c]);
      if (shown[i][c] !== want) return `row ${i} ${c}: page ${shown[i][c]} vs API ${want}`;
    }
  }
  return '';
}

async function checkView(page, base, token, label, outDir, shot) {
  // Department choropleth of observations (the default), then richness per commune.
  const dep = await api(base, '/indicators/observations?unit=departement', token);
  let diff = sameTable(await shownTable(page), dep);
  check(`${label}: department table equals the API`, dep.rows.length > 0 && !diff, diff || `${dep.rows.length} rows`);
  const mapData = await page.evaluate(() => {
    const m = window.flouDashboard.map;
    const src = m.getSource('indicator');
    const rendered = m.queryRenderedFeatures({ layers: ['indicator-fill'] });
    return {
      source: Boolean(src),
      features: window.flouDashboard.geojson.features.map((f) => [f.properties.code, f.properties.observations]),
      rendered: [...new Set(rendered.map((f) => f.properties.code))].sort(),
    };
  });
  const apiPairs = dep.rows.map((r) => [r.code, r.observations]);
  check(`${label}: map source holds the API's values`, mapData.source && JSON.stringify(mapData.features) === JSON.stringify(apiPairs),
    JSON.stringify(mapData.features));
  check(`${label}: every unit drawn on the map`, JSON.stringify(mapData.rendered) === JSON.stringify(dep.rows.map((r) => r.code).sort()),
    mapData.rendered.join(' '));

  // The yearly series per group: totals per group equal the API's.
  const series = await api(base, '/indicators/observations?unit=all&by=year,group', token);
  const want = {};
  for (const r of series.rows) {
    const g = r.group || '(no group)';
    want[g] = (want[g] || 0) + r.observations;
  }
  const drawn = await page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll('#series path[data-group]')].map((p) => [p.dataset.group, Number(p.dataset.total)])));
  check(`${label}: one series line per group, totals as the API`, Object.keys(want).length > 0 && JSON.stringify(Object.entries(drawn).sort()) === JSON.stringify(Object.entries(want).sort()),
    JSON.stringify(drawn));

  // Not-placed message.
  const np = await page.textContent('#not-placed');
  check(`${label}: records not placed are reported`, np.length > 0, np);

  writeFileSync(join(outDir, `${shot}-departement.png`), await page.screenshot());

  // Switch to richness per commune.
  const before = await page.evaluate(() => window.flouDashboard.loads);
  await page.selectOption('#unit', 'commune');
  await loaded(page, before + 1);
  const before2 = await page.evaluate(() => window.flouDashboard.loads);
  await page.selectOption('#indicator', 'richness');
  await loaded(page, before2 + 1);
  const com = await api(base, '/indicators/richness?unit=commune', token);
  diff = sameTable(await shownTable(page), com);
  check(`${label}: commune richness table equals the API`, com.rows.length > 0 && !diff, diff || `${com.rows.length} rows`);
  const npText = await page.textContent('#not-placed');
  const npWant = Object.entries(com.not_placed).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${v}`);
  check(`${label}: not-placed counts as the API`, npWant.every((t) => npText.includes(t)), npText);

  // CSV download: the file is the API's CSV.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
  const file = join(outDir, `${shot}-download.csv`);
  await download.saveAs(file);
  const csv = await api(base, '/indicators/richness?unit=commune&format=csv', token);
  const got = readFileSync(file, 'utf8');
  check(`${label}: downloaded CSV equals the API's`, got === csv && got.startsWith('unit,code,name,richness,observations\n'),
    `${got.length} bytes, ${download.suggestedFilename()}`);
  writeFileSync(join(outDir, `${shot}-commune.png`), await page.screenshot());
  return com;
}

async function run(baseUrl, outDir) {
  const base = new URL(baseUrl);
  if (base.hostname !== '127.0.0.1') throw new Error(`URL must be on 127.0.0.1, got ${base.hostname}`);
  const token = process.env.FLOU_DASHBOARD_TOKEN || '';
  const userDataDir = mkdtempSync(join(tmpdir(), 'flou-dashboard-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  const offHost = [];
  const pageErrors = [];
  try {
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === base.hostname && url.port === base.port) return route.continue();
      offHost.push(url.href);
      return route.abort('blockedbyclient');
    });
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(new URL('/dashboard', base).href);
    await loaded(page, 1);
    const status = await page.textContent('#status');
    check('public: page loaded without error', !(await page.evaluate(() => document.getElementById('status').classList.contains('error'))), status);
    const pub = await checkView(page, base, '', 'public', outDir, '1-public');

    if (token) {
      const n = await page.evaluate(() => window.flouDashboard.loads);
      await page.fill('#token', token);
      await page.click('#controls button[type=submit]');
      await loaded(page, n + 1);
      await page.selectOption('#unit', 'departement');
      await loaded(page, n + 2);
      await page.selectOption('#indicator', 'observations');
      await loaded(page, n + 3);
      const agent = await checkView(page, base, token, 'agent', outDir, '2-agent');
      const pubPlaced = pub.placed;
      check('agent: more observations placed per commune than the public', agent.placed > pubPlaced, `${agent.placed} vs ${pubPlaced}`);

      const m = await page.evaluate(() => window.flouDashboard.loads);
      await page.fill('#token', 'not-a-jwt.garbage.token');
      await page.click('#controls button[type=submit]');
      await loaded(page, m + 1);
      const refused = await page.textContent('#status');
      check('bad token: the page says HTTP 401', refused.includes('401'), refused);
    } else {
      check('agent part run (FLOU_DASHBOARD_TOKEN given)', false);
    }
    check('nothing requested outside the server', offHost.length === 0, offHost.join(' '));
    check('no page error', pageErrors.length === 0, pageErrors.join(' | '));
  } finally {
    await context.close();
  }
}

const [baseUrl, outDir] = process.argv.slice(2);
if (!baseUrl || !outDir) {
  console.error('usage: node dashboard.test.mjs URL OUTDIR');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
let fatal = null;
try {
  await run(baseUrl, outDir);
} catch (error) {
  fatal = error;
  check('scenario ran to the end', false, error.stack || String(error));
}
const failed = results.filter((x) => !x.ok);
console.log(`dashboard: ${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : (fatal ? 2 : 0));
