/**
 * Standby pools in the pool policy (host/stratum/policy.ts), under the ManualClock: a standby that
 * answers its probe is known alive, one that does not is known dead, probes go one at a time once per
 * round, a probe session is closed as soon as it is ready, a failover onto a standby whose probe is still
 * opening adopts that session, and the bare policy does not probe standbys unless asked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PolicyAction, PoolPolicy } from '../../host/stratum/policy.ts';
import { ManualClock, type TimerHandle } from '../../lib/clock.ts';

type Mode = 'ok' | 'down';

/**
 * Pools that answer the policy's actions on the clock: ok = connected +5 ms, ready +10 ms, then a job every
 * 30 s; down = the connect fails at +5 ms. A pool fails over at its first failure (failuresBeforeSwitch 1).
 */
class Rig {
  readonly clock = new ManualClock(0);
  readonly policy: PoolPolicy;
  readonly modes: Mode[];
  readonly connects: Array<{ pool: number; at: number; probe: boolean }> = [];
  readonly closes: Array<{ pool: number; detail: string }> = [];
  private timer: TimerHandle | undefined;
  private readonly session: Array<number | undefined>;
  private seq = 0;
  constructor(modes: Mode[], standbyProbeMs: number | undefined) {
    this.modes = modes;
    this.session = modes.map(() => undefined);
    this.policy = new PoolPolicy({
      pools: modes.length,
      random: () => 0.5,
      failuresBeforeSwitch: 1,
      ...(standbyProbeMs !== undefined ? { standbyProbeMs } : {}),
    });
  }
  run(actions: PolicyAction[]): void {
    for (const a of actions) {
      if (a.kind === 'connect') this.connect(a.pool, a.probe);
      else if (a.kind === 'close' || a.kind === 'drain') {
        if (a.kind === 'close') this.closes.push({ pool: a.pool, detail: a.detail });
        this.end(a.pool, 'local');
      }
    }
    this.clock.clearTimeout(this.timer);
    const at = this.policy.nextDeadline();
    if (at !== undefined)
      this.timer = this.clock.setTimeout(
        () => this.run(this.policy.tick(this.clock.now())),
        at - this.clock.now(),
      );
  }
  private connect(i: number, probe: boolean): void {
    this.connects.push({ pool: i, at: this.clock.now(), probe });
    const s = ++this.seq;
    this.session[i] = s;
    if (this.modes[i] === 'down') {
      this.clock.setTimeout(() => {
        if (this.session[i] === s) this.end(i, 'connect-failed');
      }, 5);
      return;
    }
    this.clock.setTimeout(() => {
      if (this.session[i] !== s) return;
      this.policy.connected(i, this.clock.now());
      this.clock.setTimeout(() => {
        if (this.session[i] !== s) return;
        this.policy.job(i, this.clock.now());
        this.run(this.policy.ready(i, this.clock.now()));
        const jobs = () => {
          if (this.session[i] !== s) return;
          this.policy.job(i, this.clock.now());
          this.clock.setTimeout(jobs, 30_000);
        };
        this.clock.setTimeout(jobs, 30_000);
      }, 5);
    }, 5);
  }
  end(i: number, reason: string): void {
    if (this.session[i] === undefined) return;
    this.session[i] = undefined;
    this.run(this.policy.disconnected(i, { reason }, this.clock.now()));
  }
  /** The active pool dies (its connection closes). */
  kill(i: number): void {
    this.modes[i] = 'down';
    this.end(i, 'closed');
  }
  standby(i: number) {
    return this.policy.snapshot().pools[i]!.standby;
  }
}

describe('standby pool probes', () => {
  it('off in the bare policy: a healthy primary never touches its standby', () => {
    const r = new Rig(['ok', 'ok'], undefined);
    r.run(r.policy.start(0));
    r.clock.advance(10 * 60_000);
    assert.deepEqual(
      r.connects.map((c) => c.pool),
      [0],
    );
    assert.equal(r.standby(1), undefined);
  });

  it('a standby that answers is alive, its probe session closed at once; one probe per round, one pool at a time', () => {
    const r = new Rig(['ok', 'ok', 'ok'], 60_000);
    r.run(r.policy.start(0));
    r.clock.advance(20);
    assert.equal(r.policy.active, 0);
    r.clock.advance(59_000);
    assert.equal(r.connects.length, 1, 'no standby probe before standbyProbeMs');
    r.clock.advance(1_100);
    // One round: pool 1, then (once 1 is done) pool 2.
    assert.deepEqual(
      r.connects.slice(1).map((c) => [c.pool, c.probe]),
      [
        [1, true],
        [2, true],
      ],
    );
    assert.ok(r.connects[2]!.at >= r.connects[1]!.at + 10, 'pool 2 only after pool 1 was done');
    assert.deepEqual(r.standby(1), { alive: true, at: r.connects[1]!.at + 10 });
    assert.equal(r.standby(2)?.alive, true);
    assert.deepEqual(
      r.closes.map((c) => [c.pool, c.detail]),
      [
        [1, 'standby probe done'],
        [2, 'standby probe done'],
      ],
    );
    assert.equal(r.policy.active, 0, 'the primary stays active');
    r.clock.advance(60_000);
    assert.equal(r.connects.length, 5, 'the next round a standbyProbeMs later');
  });

  it('a standby that does not answer is dead (and stays a standby); its failure is not a failover', () => {
    const r = new Rig(['ok', 'down'], 30_000);
    r.run(r.policy.start(0));
    r.clock.advance(30_100);
    assert.deepEqual(r.standby(1), { alive: false, at: 30_015, reason: 'connect-failed' });
    assert.equal(r.policy.active, 0);
    assert.equal(r.policy.state, 'active');
    r.modes[1] = 'ok';
    r.clock.advance(30_000);
    assert.equal(r.standby(1)?.alive, true, 'alive again at the next round');
  });

  it('failover onto a standby whose probe is still opening adopts that session', () => {
    const r = new Rig(['ok', 'ok'], 60_000);
    r.run(r.policy.start(0));
    r.clock.advance(60_010); // the standby probe of pool 1 went out at 60 010
    const probe = r.connects.at(-1)!;
    assert.deepEqual([probe.pool, probe.probe], [1, true]);
    r.kill(0); // the primary dies 0 ms after: failover to pool 1 while its probe is opening
    r.clock.advance(100);
    assert.equal(r.policy.active, 1, 'pool 1 active');
    assert.equal(
      r.connects.filter((c) => c.pool === 1).length,
      1,
      'no second connection: the probe session was adopted',
    );
    assert.equal(r.standby(1), undefined, 'an active pool is no standby');
    assert.ok(!r.closes.some((c) => c.pool === 1), 'the adopted session is not closed');
  });

  it('while on a fallback, the preferred pool is probed by the return probes, not as a standby', () => {
    const r = new Rig(['ok', 'ok', 'ok'], 10_000);
    r.run(r.policy.start(0));
    r.clock.advance(20);
    r.kill(0);
    r.clock.advance(100);
    assert.equal(r.policy.active, 1);
    r.clock.advance(10_050);
    const standbyProbes = r.connects.filter((c) => c.probe && c.pool !== 0);
    assert.deepEqual(
      standbyProbes.map((c) => c.pool),
      [2],
      'pool 2 is the only standby',
    );
  });
});
