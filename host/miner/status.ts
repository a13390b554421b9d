/** The live status a person reads on a terminal: one compact line per refresh. */
import type { MinerState } from '../api/types.ts';

export function formatHashrate(ghs: number): string {
  if (!Number.isFinite(ghs) || ghs <= 0) return '0 H/s';
  const units = ['GH/s', 'TH/s', 'PH/s'];
  if (ghs < 1) {
    const hs = ghs * 1e9;
    if (hs >= 1e6) return `${(hs / 1e6).toFixed(2)} MH/s`;
    if (hs >= 1e3) return `${(hs / 1e3).toFixed(2)} kH/s`;
    return `${hs.toFixed(0)} H/s`;
  }
  let v = ghs;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 2)} ${units[u]}`;
}

export function formatDifficulty(d: number): string {
  if (!Number.isFinite(d) || d <= 0) return '0';
  const units = ['', 'k', 'M', 'G', 'T', 'P'];
  if (d < 1) return d.toPrecision(3);
  let v = d;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 2)}${units[u]}`;
}

function duration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}

/** e.g. "running 1m05s | 1.20 MH/s (exp 2.0 MH/s) | shares 12 ok / 1 rej | best 0.0021 | 58.2 °C fan 41 % 3100 rpm | pool 0 alive diff 0.0005" */
export function formatStatus(s: MinerState): string {
  const temps = s.temperatures
    .map((t) => (t.celsius === null ? `${t.name}=?` : `${t.celsius.toFixed(1)} °C`))
    .join(' ');
  const rpm = s.fan.rpm.find((r) => r !== null);
  const pool = s.pool
    ? `pool ${s.pool.index}${s.pool.failover === 'failover' ? ' (failover)' : ''} ${s.pool.status} diff ${formatDifficulty(s.pool.difficulty)}`
    : 'no pool';
  const parts = [
    `${s.mining}${s.overheat.active ? ' OVERHEAT' : ''} ${duration(s.device.uptimeS)}`,
    `${formatHashrate(s.hashrate.avg1m || s.hashrate.now)} (exp ${formatHashrate(s.hashrate.expected)})`,
    `shares ${s.shares.accepted} ok / ${s.shares.rejected} rej${s.shares.hardwareErrors ? ` / ${s.shares.hardwareErrors} hw` : ''}${s.shares.blocksFound ? ` / ${s.shares.blocksFound} BLOCK` : ''}`,
    `best ${formatDifficulty(s.bestDifficulty.session)}`,
    `${temps || 'no temp'} fan ${Math.round(s.fan.dutyPercent)} %${rpm ? ` ${rpm} rpm` : ''}`,
    pool,
  ];
  return parts.join(' | ');
}
