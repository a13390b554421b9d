/**
 * The Grafana dashboard works on asicd's metrics: valid JSON with a Prometheus data-source input,
 * every metric a panel queries exists in a real scrape of asicd's exposition (the same registry the
 * daemon serves), with the label values the queries filter on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createMetricsRegistry } from '../../host/telemetry/metrics.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';

interface Panel {
  title: string;
  targets: Array<{ expr: string }>;
}

test('every series the Grafana dashboard queries is exposed by asicd', async () => {
  const dash = JSON.parse(
    readFileSync(new URL('../../deploy/grafana/asicd-dashboard.json', import.meta.url), 'utf8'),
  ) as { panels: Panel[]; __inputs: Array<{ pluginId: string }>; uid: string };
  assert.equal(dash.__inputs[0]!.pluginId, 'prometheus');
  const exposition = await createMetricsRegistry(new FakeMiner('grafana')).metrics();
  const names = new Set(
    exposition
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(/[{ ]/)[0]!),
  );
  assert.ok(dash.panels.length >= 10);
  for (const p of dash.panels) {
    assert.ok(p.targets.length > 0, p.title);
    for (const t of p.targets) {
      const metrics = t.expr.match(/asicd_[a-z0-9_]+/g) ?? [];
      assert.ok(metrics.length > 0, `${p.title}: ${t.expr}`);
      for (const m of metrics) assert.ok(names.has(m), `${p.title}: ${m} is not exposed`);
      for (const [, label, value] of t.expr.matchAll(/(window|scope|rail)="([^"]+)"/g))
        assert.match(exposition, new RegExp(`${label}="${value}"`), `${p.title}: ${label}="${value}"`);
    }
  }
});
