/// <reference lib="dom" />
/**
 * The dashboard in a real browser: Debian's Chromium, headless, driven by puppeteer-core, against
 * `asicd demo` (a real daemon process) publishing to a real mosquitto. The page loads with nothing
 * from outside (every request stays on the daemon's origin), the numbers and the chart update, a
 * settings change made in the form round-trips through PATCH and shows up in MQTT and the cgminer
 * API, the emulated Gamma's measured power shows and its core voltage set in the form reaches the regulator
 * (MQTT state), and a write without the token is refused (and changes nothing). Assertions are on the DOM.
 *
 * Skips (with a message) only when Chromium is missing on a developer machine; in CI (CI=true) a
 * missing browser is a failure, because .ci/run installs it through `npm run system-deps`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MinerState } from '../../host/api/types.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';
import { type Watcher, watch } from '../telemetry/mqtt-watch.ts';

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => !!p && existsSync(p),
);
const skip =
  CHROMIUM === undefined && process.env.CI !== 'true'
    ? 'Chromium not found (apt-get install chromium, or npm run system-deps); CI installs it'
    : false;

const TOKEN = 'browser-test-token';
const cleanups: Array<() => Promise<unknown> | unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function cgminer(port: number, command: string): Promise<Record<string, Array<Record<string, unknown>>>> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.end(JSON.stringify({ command })));
    let text = '';
    s.on('data', (d) => {
      text += String(d);
    });
    s.on('end', () => resolve(JSON.parse(text.replace(/\0$/, ''))));
    s.on('error', reject);
  });
}

test('dashboard in headless Chromium: live numbers, chart, settings via PATCH → MQTT + cgminer, refused write', {
  skip,
  timeout: 240_000,
}, async () => {
  assert.ok(CHROMIUM, 'Chromium must be installed in CI (scripts/system-deps.sh)');
  const { default: puppeteer } = await import('puppeteer-core');
  const broker: Mosquitto = await startMosquitto();
  cleanups.push(() => broker.stop());
  const httpPort = await freePort();
  const apiPort = await freePort();
  const base = 'asicd/browser-dev';
  const w: Watcher = await watch(broker.url, [`${base}/state`]);
  cleanups.push(() => w.close());
  const daemon: AsicdProcess = asicd([
    'demo',
    // The emulated Bitaxe Gamma over bitaxe-raw: TPS546 + INA260, so the page has power to show and set.
    ...['--board', 'sim-gamma-usb'],
    ...['--mqtt', broker.url, '--device-id', 'browser-dev', '--mqtt-interval', '1'],
    ...[
      '--http-listen',
      `127.0.0.1:${httpPort}`,
      '--http-token',
      TOKEN,
      '--api-listen',
      `127.0.0.1:${apiPort}`,
    ],
    ...['--no-status', '--log-format', 'json'],
  ]);
  cleanups.push(() => daemon.stop());
  const out = () => daemon.output().slice(-3000);
  await waitFor(() => daemon.output().includes('Dashboard:'), `dashboard line (${out()})`, 60_000);
  const url = `http://127.0.0.1:${httpPort}/`;

  const profile = mkdtempSync(join(tmpdir(), 'asicd-chromium-'));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  cleanups.push(() => browser.close());
  const page = await browser.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  // Load: numbers appear and update over the event stream; the chart draws.
  await page.goto(`${url}#token=${TOKEN}`, { waitUntil: 'load' });
  const textOf = (sel: string) => page.$eval(sel, (el) => el.textContent ?? '');
  await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live', {
    timeout: 30_000,
  });
  await page.waitForFunction(() => Number(document.getElementById('shares-accepted')?.textContent) >= 1, {
    timeout: 60_000,
  });
  const first = Number(await textOf('#shares-accepted'));
  const firstUpdate = await page.$eval('body', (b) => Number(b.dataset.updated));
  await page.waitForFunction(
    (n: number) => Number(document.getElementById('shares-accepted')?.textContent) > n,
    { timeout: 60_000 },
    first,
  );
  assert.ok((await page.$eval('body', (b) => Number(b.dataset.updated))) > firstUpdate, 'state pushed again');
  assert.equal(await textOf('#mining'), 'running');
  assert.match(await textOf('#hr-now'), /^\d+\.\d\d$/);
  assert.match(await textOf('#temps'), /chip: \d+\.\d °C/);
  assert.ok((await page.$$('#heatmap .cell')).length >= 1, 'heat map has the chip');
  assert.ok((await page.$$('#pools tbody tr')).length >= 1, 'pool table');
  await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.points) >= 1, {
    timeout: 30_000,
  });
  assert.ok(await page.$('#chart canvas'), 'uPlot drew a canvas');
  assert.equal(
    await page.$eval('#token', (el) => (el as HTMLInputElement).value),
    TOKEN,
    'token from #token=',
  );
  assert.equal(page.url(), url, 'the token left the address bar');

  // Settings: frequency 500 MHz through the form → PATCH → MQTT state and cgminer stats.
  await page.$eval('#set-frequency', (el) => {
    (el as HTMLInputElement).value = '500';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.click('#save');
  await page.waitForFunction(() => document.getElementById('settings-status')?.dataset.status !== undefined, {
    timeout: 20_000,
  });
  assert.equal(
    await page.$eval('#settings-status', (el) => (el as HTMLElement).dataset.status),
    '200',
    await textOf('#settings-status'),
  );
  const mark = w.seen.length;
  await w.waitFor(
    (m) => w.seen.indexOf(m) >= mark && (JSON.parse(m.text) as MinerState).frequencyMhz === 500,
    `MQTT state with 500 MHz (${out()})`,
    30_000,
  );
  const stats = (await cgminer(apiPort, 'stats')).STATS![1]!;
  assert.equal(stats.frequency, 500, 'cgminer stats shows the new frequency');
  await page.waitForFunction(() => document.getElementById('frequency')?.textContent === '500', {
    timeout: 20_000,
  });

  // Power: measured figures on the page; the core voltage through the form reaches the regulator (MQTT state).
  await page.waitForFunction(() => /\d W$/.test(document.getElementById('power')?.textContent ?? ''), {
    timeout: 30_000,
  });
  assert.match(await textOf('#supply'), /^\d\.\d\d V · \d+\.\d\d A$/);
  assert.match(await textOf('#core'), /mV \(set \d+ mV\)/);
  const setMv = Number(await page.$eval('#set-coreVoltage', (el) => (el as HTMLInputElement).value));
  const maxMv = Number(await page.$eval('#set-coreVoltage', (el) => (el as HTMLInputElement).max));
  assert.ok(setMv > 0 && maxMv >= setMv, `core voltage field ${setMv} (max ${maxMv})`);
  const newMv = setMv + 20 <= maxMv ? setMv + 20 : setMv - 20;
  await page.$eval('#settings-status', (el) => {
    delete (el as HTMLElement).dataset.status;
  });
  await page.$eval(
    '#set-coreVoltage',
    (el, v) => {
      (el as HTMLInputElement).value = String(v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    },
    newMv,
  );
  await page.click('#save');
  await page.waitForFunction(() => document.getElementById('settings-status')?.dataset.status !== undefined, {
    timeout: 20_000,
  });
  assert.equal(
    await page.$eval('#settings-status', (el) => (el as HTMLElement).dataset.status),
    '200',
    await textOf('#settings-status'),
  );
  const mark2 = w.seen.length;
  await w.waitFor(
    (m) => w.seen.indexOf(m) >= mark2 && (JSON.parse(m.text) as MinerState).power?.setMv === newMv,
    `MQTT state with the core set to ${newMv} mV (${out()})`,
    30_000,
  );
  await page.waitForFunction(
    (mv: number) => (document.getElementById('core')?.textContent ?? '').includes(`(set ${mv} mV)`),
    { timeout: 20_000 },
    newMv,
  );

  // A write without the token is refused, and changes nothing.
  await page.$eval('#token', (el) => {
    (el as HTMLInputElement).value = '';
    el.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await page.$eval('#settings-status', (el) => {
    delete (el as HTMLElement).dataset.status;
  });
  await page.click('button[data-action="pause"]');
  await page.waitForFunction(() => document.getElementById('settings-status')?.dataset.status !== undefined, {
    timeout: 20_000,
  });
  assert.equal(await page.$eval('#settings-status', (el) => (el as HTMLElement).dataset.status), '401');
  const raw = await page.evaluate(async () => {
    const r = await fetch('/api/system', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ frequency: 450 }),
    });
    return r.status;
  });
  assert.equal(raw, 401, 'PATCH without a token from the page');
  const info = (await (await fetch(`${url}api/system/info`)).json()) as Record<string, unknown>;
  assert.equal(info.miningPaused, false, 'not paused (a boolean, as ESP-Miner sends it)');
  assert.equal(info.frequency, 500, 'frequency unchanged by the refused PATCH');

  // Offline: every request the page made stayed on the daemon's origin.
  const foreign = requests.filter((r) => !r.startsWith(url));
  assert.deepEqual(foreign, [], 'no request left the daemon (no CDN)');
  assert.deepEqual(pageErrors, [], 'no script errors');
  await browser.close();
  assert.equal(await daemon.stop(), 0, out());
});
