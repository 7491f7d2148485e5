// End-to-end run of the console in headless Chromium (Debian's chromium,
// driven by playwright-core). The Go test TestConsoleEndToEnd starts the
// server with the 2020 demo year and runs this script; it can also be run
// by hand against any server:
//
//   BAOSHUI_URL=http://127.0.0.1:8080 BAOSHUI_ARTIFACTS=/tmp/e2e node e2e/run.mjs
//
// Every check throws on failure (exit status 1). Screenshots, the CSV and
// XLSX downloads and results.json are written to BAOSHUI_ARTIFACTS. With
// BAOSHUI_E2E_BENCH=N it only measures the time to the first map render N
// times, from the browser's performance timeline.
import { chromium } from 'playwright-core';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import assert from 'node:assert/strict';

const base = process.env.BAOSHUI_URL || 'http://127.0.0.1:8080';
const out = process.env.BAOSHUI_ARTIFACTS || 'artifacts';
const password = process.env.BAOSHUI_PASSWORD || 'baoshui2020';
const office = process.env.BAOSHUI_OFFICE || 'office';
const officer = process.env.BAOSHUI_OFFICER || 'officer-gaoling-1';
const supervisor = process.env.BAOSHUI_SUPERVISOR || 'supervisor-gaoling';
const expect = process.env.BAOSHUI_EXPECT ? JSON.parse(process.env.BAOSHUI_EXPECT) : null;
const photoRecord = process.env.BAOSHUI_PHOTO_RECORD || '';
const alertStation = process.env.BAOSHUI_ALERT_STATION || '';
const benchRuns = Number(process.env.BAOSHUI_E2E_BENCH || 0);
const executablePath = process.env.BAOSHUI_CHROMIUM || '/usr/bin/chromium';
const timeout = 30000;

await mkdir(out, { recursive: true });
const results = { base, steps: [] };
const step = (name, data) => {
  results.steps.push({ name, ...data });
  console.log('ok', name, data ? JSON.stringify(data) : '');
};

// apiToken signs in without the browser, to read the API independently.
async function apiToken(username) {
  const res = await fetch(base + '/api/v1/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  assert.equal(res.status, 200, 'API sign-in of ' + username);
  return (await res.json()).access_token;
}
async function apiGet(token, url) {
  const res = await fetch(new URL(url, base), { headers: { Authorization: 'Bearer ' + token } });
  assert.equal(res.status, 200, 'GET ' + url);
  return res.json();
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});

// problems collects console errors, page errors and failed requests; the
// run fails if any is left at the end.
const problems = [];
function watch(page, label) {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${label}: console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A navigation away aborts the requests of the page left; they did not fail.
    if (r.failure() && /ERR_ABORTED/.test(r.failure().errorText)) return;
    problems.push(`${label}: request failed: ${r.method()} ${r.url()} ${r.failure() && r.failure().errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${label}: HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
}

const pages = [];
async function newPage(viewport, label) {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await ctx.newPage();
  pages.push([label, page]);
  page.setDefaultTimeout(timeout);
  watch(page, label);
  return page;
}

async function signIn(page, username) {
  await page.goto(base + '/');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#login');
}

// incidentResponse waits for the next /map/incidents answer the page gets,
// then for the page to have drawn it.
async function nextIncidents(page, action) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/v1/map/incidents') && r.status() === 200),
    action(),
  ]);
  const body = await res.json();
  await page.waitForFunction((n) => document.querySelector('#inview')?.dataset.count === String(n), body.numberMatched);
  return { url: res.url(), body };
}

async function drawnCounts(page) {
  return page.evaluate(() => {
    const els = [...document.querySelectorAll('#map [data-count]')];
    return {
      sum: els.reduce((s, e) => s + Number(e.dataset.count), 0),
      clusters: els.filter((e) => e.dataset.cluster).length,
      singles: els.filter((e) => e.dataset.id).length,
      inview: Number(document.querySelector('#inview').dataset.count),
    };
  });
}

// openLink opens a shared link as a new document in the signed-in tab, the
// way a link pasted into the address bar is. (A change of the hash alone
// followed by page.reload() can reload the URL before the change.)
async function openLink(page, link) {
  await page.goto('about:blank');
  await page.goto(base + link);
}

async function firstRender(page) {
  return page.evaluate(() => {
    const m = performance.getEntriesByName('baoshui:map-rendered')[0];
    return m ? m.startTime : null;
  });
}

// On a failure every open page is photographed before the run ends.
process.on('uncaughtException', async (err) => {
  console.error(err);
  for (const [label, page] of pages) {
    await page.screenshot({ path: path.join(out, `failure-${label}.png`) }).catch(() => {});
    console.error(`failure-${label}.png: ${page.url()}`);
  }
  await writeFile(path.join(out, 'results.json'), JSON.stringify({ ...results, problems, error: String(err) }, null, 2)).catch(() => {});
  process.exit(1);
});

if (benchRuns > 0) {
  const page = await newPage({ width: 1366, height: 768 }, 'bench');
  await signIn(page, office);
  await page.waitForSelector('#map[data-loaded]');
  const times = [];
  for (let i = 0; i < benchRuns; i++) {
    // A fresh document each time, with the session kept (sessionStorage).
    await page.goto('about:blank');
    await page.goto(base + '/#/map');
    await page.waitForFunction(() => performance.getEntriesByName('baoshui:map-rendered').length > 0);
    times.push(await firstRender(page));
  }
  const sorted = [...times].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const matched = await page.evaluate(() => Number(document.querySelector('#inview').dataset.count));
  results.bench = { runs: benchRuns, incidents_in_view: matched, first_render_ms: { p50: pick(0.5), p95: pick(0.95), max: sorted[sorted.length - 1] }, times };
  step('first map render', results.bench);
  await page.screenshot({ path: path.join(out, 'bench-map.png') });
} else {
  const token = await apiToken(office);

  // ---- sign in, the map ----
  const page = await newPage({ width: 1366, height: 768 }, 'office');
  const first = await nextIncidents(page, () => signIn(page, office));
  assert.match(page.url(), /#\/map/, 'the office lands on the map');
  let drawn = await drawnCounts(page);
  const independent = await apiGet(token, first.url);
  assert.equal(drawn.sum, independent.numberMatched, 'cluster counts add up to the records in view (API read independently)');
  assert.equal(drawn.inview, independent.numberMatched);
  assert.ok(drawn.sum > 1000, 'the 2020 demo incidents are on the map');
  assert.ok(drawn.clusters > 0, 'clusters are drawn');
  step('map', { ...drawn, url: first.url });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(out, 'map.png') });

  // ---- filter by kind ----
  let caseOnly;
  for (const k of ['expulsion', 'grazing', 'vehicle', 'confiscation']) {
    caseOnly = await nextIncidents(page, () => page.uncheck(`input[name=kind][value=${k}]`));
  }
  assert.match(caseOnly.url, /kind=case(&|$)/);
  drawn = await drawnCounts(page);
  const cases = await apiGet(token, caseOnly.url);
  assert.equal(drawn.sum, cases.numberMatched, 'after filtering by kind the counts add up to the API');
  const others = await apiGet(token, caseOnly.url.replace('kind=case', 'kind=expulsion,grazing,vehicle,confiscation'));
  assert.equal(cases.numberMatched + others.numberMatched, independent.numberMatched, 'cases plus the other kinds are the unfiltered count');
  assert.ok(cases.numberMatched > 0 && cases.numberMatched < independent.numberMatched);
  assert.match(page.url(), /kind=case/, 'the filter is in the URL');
  step('filter by kind', { cases: cases.numberMatched, others: others.numberMatched });

  // ---- zoom into a cluster until single cases appear; open one ----
  for (let i = 0; i < 12; i++) {
    if ((await drawnCounts(page)).singles > 0) break;
    // The biggest cluster well inside the map, so that the click lands on it.
    const biggest = await page.evaluate(() => {
      const m = document.querySelector('#map').getBoundingClientRect();
      const inside = (e) => {
        const r = e.getBoundingClientRect();
        const x = (r.left + r.right) / 2;
        const y = (r.top + r.bottom) / 2;
        return x > m.left + 60 && x < m.right - 60 && y > m.top + 100 && y < m.bottom - 40;
      };
      const cs = [...document.querySelectorAll('#map [data-cluster]')].filter(inside).sort((a, b) => b.dataset.count - a.dataset.count);
      return cs[0] ? cs[0].dataset.cluster : null;
    });
    assert.ok(biggest, 'a cluster to expand');
    await nextIncidents(page, () => page.click(`[data-cluster="${biggest}"]`));
  }
  drawn = await drawnCounts(page);
  assert.ok(drawn.singles > 0, 'zooming in expands clusters into single incidents');
  const id = await page.evaluate(() => document.querySelector('#map path[data-id]').dataset.id);
  await page.click(`#map path[data-id="${id}"]`, { force: true });
  await page.waitForSelector(`#record[data-id="${id}"] table.kv`);
  const rec = await apiGet(token, '/api/v1/records/' + id);
  const popup = await page.textContent('#record');
  assert.equal(rec.kind, 'case');
  assert.ok(popup.includes(rec.case_no), 'the popup shows the clicked record: ' + rec.case_no);
  assert.ok(await page.$('#record ol.history li'), 'the popup shows the audit history');
  assert.match(page.url(), new RegExp('record=' + id), 'the open record is in the URL');
  step('marker popup', { id, case_no: rec.case_no });
  await page.screenshot({ path: path.join(out, 'map-popup.png') });

  // ---- a shared link with a record that has a photo ----
  if (photoRecord) {
    await openLink(page, '/#/map?record=' + photoRecord);
    await page.waitForSelector(`#record[data-id="${photoRecord}"] img.thumb[src^="blob:"]`);
    await page.waitForFunction(() => document.querySelector('#record img.thumb').naturalWidth > 0);
    await page.click('#record img.thumb');
    await page.waitForSelector('#lightbox img');
    step('photo thumbnail and full size', { record: photoRecord });
    await page.screenshot({ path: path.join(out, 'map-photo.png') });
    await page.click('#lightbox');
  }

  // ---- heat, zones and patrol tracks from a shared link ----
  await openLink(page, '/#/map?from=2020-07-01&to=2020-07-01&heat=1&grid=1&day=2020-07-01&tunit=town-gaoling&c=40.58,117.05&z=12');
  await page.waitForSelector('#map [data-count]');
  await page.waitForFunction(() => document.querySelectorAll('.leaflet-heat-pane path').length > 0);
  await page.waitForFunction(() => document.querySelectorAll('.leaflet-zones-pane path').length > 100, null);
  await page.waitForSelector('#map path.track');
  const trackCount = await page.$$eval('#map path.track', (ps) => ps.length);
  const patrols = await apiGet(token, '/api/v1/records?kind=patrol&unit=town-gaoling&from=2020-07-01&to=2020-07-02&limit=200');
  assert.equal(trackCount, patrols.records.filter((r) => !r.voided).length, 'one track per patrol of that day and team');
  const clock0 = await page.textContent('#track-clock');
  await page.click('#track-play');
  // The slider shows whole steps (a thousandth of the day): the clock
  // may move before it does.
  await page.waitForFunction((c) => document.querySelector('#track-clock').textContent !== c, clock0);
  await page.waitForFunction(() => Number(document.querySelector('#track-time').value) > 0, null, { timeout: 10000 });
  const pos = await page.$eval('#track-time', (s) => Number(s.value));
  assert.ok(pos > 0, 'playback moves along the time axis');
  await page.click('#track-play');
  step('heat, zones, tracks', { tracks: trackCount, clock_from: clock0 });
  await page.screenshot({ path: path.join(out, 'map-tracks-heat.png') });

  // ---- totals ----
  await page.goto(base + '/#/totals?year=2020');
  await page.waitForSelector('#figures .card');
  const figures = await page.$$eval('#figures .card', (cs) => Object.fromEntries(cs.map((c) => [c.dataset.figure, c.querySelector('.value').textContent])));
  const activities = await page.$$eval('#figures [data-activity]', (s) => Object.fromEntries(s.map((e) => [e.dataset.activity, e.textContent])));
  results.figures = figures;
  results.activities = activities;
  if (expect) {
    for (const [k, v] of Object.entries(expect.figures)) assert.equal(figures[k], v, 'totals page: ' + k);
    for (const [k, v] of Object.entries(expect.activities)) assert.ok(activities[k].endsWith(' ' + v), `totals page: ${k} ${activities[k]} ≠ ${v}`);
  }
  const bars = await page.$$eval('#monthly rect.bar', (rs) => rs.map((r) => Number(r.dataset.value)));
  assert.equal(bars.length, 12, 'twelve months');
  const api2020 = await apiGet(token, '/api/v1/reports/totals?from=2020-01-01&to=2021-01-01');
  assert.equal(bars.reduce((a, b) => a + b, 0), api2020.totals.persons_cleared, 'the monthly chart adds up to the year');
  const unitRows = await page.$$eval('#by-unit tr[data-unit]', (rs) => rs.length);
  assert.equal(unitRows, Object.keys(api2020.by_unit).length, 'one row per team');
  await page.screenshot({ path: path.join(out, 'totals.png'), fullPage: true });
  for (const format of ['csv', 'xlsx']) {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#dl-' + format)]);
    const file = path.join(out, 'totals-2020.' + format);
    await dl.saveAs(file);
    results[format] = file;
  }
  step('totals', { figures, downloads: [results.csv, results.xlsx] });

  // ---- English ----
  await page.click('#lang');
  await page.waitForFunction(() => document.querySelector('header nav a[data-page=map]').textContent === 'Map');
  const enFines = await page.textContent('#figures [data-figure=fines_fen] .value');
  assert.match(enFines, /^CN¥|^¥/, 'money in the English locale');
  await page.screenshot({ path: path.join(out, 'totals-en.png'), fullPage: true });
  await page.click('#lang');
  await page.waitForFunction(() => document.querySelector('header nav a[data-page=map]').textContent === '执法地图');
  step('language switch', { en_fines: enFines });

  // ---- water quality ----
  await page.goto(base + '/#/water');
  await page.waitForSelector('#stations tr[data-station]');
  const stations = await apiGet(token, '/api/v1/stations');
  const rows = await page.$$eval('#stations tr[data-station]', (rs) => rs.map((r) => [r.dataset.station, r.querySelector('.class-badge').dataset.class]));
  assert.equal(rows.length, stations.stations.length, 'every station is listed');
  for (const [sid, cls] of rows) {
    const s = stations.stations.find((x) => x.id === sid);
    if (s.latest && s.latest.assessment_class) assert.ok(cls, 'a badge for ' + sid);
  }
  // A simulated station: a day of readings to draw.
  const withData = stations.stations.find((s) => s.latest && s.id !== alertStation) || stations.stations[0];
  await page.click(`#stations tr[data-station="${withData.id}"] a`);
  await page.waitForSelector('#chart svg polyline.mean');
  const bands = await page.$$eval('#chart svg rect.band', (rs) => rs.map((r) => r.dataset.class));
  assert.ok(bands.length >= 2, 'class bands are drawn: ' + bands.join(','));
  await page.selectOption('#w-period', '7');
  await page.waitForSelector('#chart svg polyline.mean');
  const openAlerts = await page.$$eval('#alerts li[data-alert]', (ls) => ls.length);
  if (alertStation) {
    await page.waitForSelector(`#alerts li[data-alert^="${alertStation}:"] button`);
  }
  const ackable = await page.$(alertStation ? `#alerts li[data-alert^="${alertStation}:"] button` : '#alerts li[data-alert] button');
  let acked = null;
  if (ackable) {
    acked = await ackable.evaluate((b) => b.closest('li').dataset.alert);
    await Promise.all([page.waitForResponse((r) => r.url().includes('/ack') && r.status() === 200), ackable.click()]);
    await page.waitForFunction((a) => !document.querySelector(`#alerts li[data-alert="${a}"] button`), acked);
    const after = await apiGet(token, '/api/v1/alerts');
    const a = after.alerts.find((x) => x.id === acked);
    assert.equal(a && a.acked_by, office, 'the alert is acknowledged by the office');
  }
  if (alertStation) {
    // The alerting station's own page: its few readings, above Class V.
    await page.goto(base + '/#/water/' + alertStation);
    // Equal readings draw a flat line, which has no height to be "visible".
    await page.waitForSelector('#chart svg polyline.mean[data-points="3"]', { state: 'attached' });
    const worst = await page.$eval('#station h2 .class-badge', (b) => b.dataset.class);
    assert.equal(worst, '劣V', 'the alerting station is worse than Class V');
  }
  step('water quality', { station: withData.id, bands, open_alerts: openAlerts, acked });
  await page.screenshot({ path: path.join(out, 'water.png'), fullPage: true });

  // ---- tablet ----
  const tablet = await newPage({ width: 1024, height: 768 }, 'tablet');
  await nextIncidents(tablet, () => signIn(tablet, office));
  await tablet.screenshot({ path: path.join(out, 'tablet-map.png') });
  await tablet.goto(base + '/#/water');
  await tablet.waitForSelector('#stations tr[data-station]');
  await tablet.screenshot({ path: path.join(out, 'tablet-water.png') });
  step('tablet');

  // ---- sign out ----
  await page.click('#logout');
  await page.waitForSelector('form.login');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('baoshui.session')), null, 'the session is forgotten');
  await page.goto(base + '/#/totals?year=2020');
  await page.waitForSelector('form.login');
  assert.equal(await page.$('#figures'), null, 'nothing is shown signed out');
  step('sign out');

  // ---- an officer may not open the office pages ----
  const op = await newPage({ width: 1366, height: 768 }, 'officer');
  await signIn(op, officer);
  await op.waitForSelector('#denied');
  assert.equal(await op.$$eval('header nav a', (as) => as.length), 0, 'no page is offered to an officer');
  for (const p of ['map', 'totals?year=2020', 'water']) {
    await op.goto(base + '/#/' + p);
    await op.waitForSelector('#denied');
    assert.equal(await op.$('#figures, #map, #stations'), null, 'an officer cannot open ' + p);
  }
  await op.screenshot({ path: path.join(out, 'officer-denied.png') });
  step('officer denied');

  // ---- a supervisor sees the map of their own subtree only ----
  const sp = await newPage({ width: 1366, height: 768 }, 'supervisor');
  const sv = await nextIncidents(sp, () => signIn(sp, supervisor));
  const svDrawn = await drawnCounts(sp);
  const svAPI = await apiGet(await apiToken(supervisor), sv.url);
  const officeSame = await apiGet(token, sv.url);
  assert.equal(svDrawn.sum, svAPI.numberMatched, 'the map of a supervisor adds up to their own API answer');
  assert.ok(svAPI.numberMatched > 0 && svAPI.numberMatched < officeSame.numberMatched, 'a supervisor sees less than the office');
  await sp.screenshot({ path: path.join(out, 'supervisor-map.png') });
  step('supervisor scoped', { supervisor: svAPI.numberMatched, office: officeSame.numberMatched });
}

await browser.close();
results.problems = problems;
await writeFile(path.join(out, 'results.json'), JSON.stringify(results, null, 2));
assert.deepEqual(problems, [], 'no console errors and no failed requests');
console.log('e2e: all checks passed; artefacts in', out);
