/**
 * PoolPolicy (host/stratum/policy.ts) under the ManualClock, against simulated pools: each pool is a
 * small script that answers the policy's 'connect' actions on the clock (up and healthy, refusing,
 * reconnect storm, frozen, rejecting everything…). The driver arms one timer at nextDeadline() exactly
 * like PoolManager does. Figures (clock ms, connections per minute) are printed as diagnostics; the
 * bounds asserted are the policy's documented ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type PolicyAction,
  PoolPolicy,
  type PoolPolicyOptions,
  type SubmitEnd,
} from '../../host/stratum/policy.ts';
import { ManualClock, type TimerHandle } from '../../lib/clock.ts';

type Mode = 'ok' | 'down' | 'storm' | 'frozen';
type Answer = 'accept' | 'reject' | 'none';

interface SimPool {
  mode: Mode;
  answer: Answer;
  /** Jobs every this many ms while a healthy session lives. */
  jobEveryMs: number;
  session: number | undefined;
  timers: TimerHandle[];
}

class World {
  readonly clock = new ManualClock(0);
  readonly policy: PoolPolicy;
  readonly pools: SimPool[];
  readonly connects: Array<{ pool: number; at: number; probe: boolean }> = [];
  readonly actions: Array<PolicyAction & { at: number }> = [];
  readonly jobsFed: Array<{ pool: number; at: number }> = [];
  private timer: TimerHandle | undefined;
  private seq = 0;
  private submitSeq = 0;

  constructor(modes: Mode[], opts: Partial<PoolPolicyOptions> = {}) {
    this.pools = modes.map((mode) => ({
      mode,
      answer: 'accept',
      jobEveryMs: 30_000,
      session: undefined,
      timers: [],
    }));
    this.policy = new PoolPolicy({
      pools: modes.length,
      random: () => 0.5,
      backoff: { baseMs: 1000, maxMs: 30_000, jitter: 0.3 },
      ...opts,
    });
  }

  get active(): number | undefined {
    return this.policy.active;
  }

  start(): void {
    this.run(this.policy.start(this.clock.now()));
  }

  run(actions: PolicyAction[]): void {
    for (const a of actions) {
      this.actions.push({ ...a, at: this.clock.now() });
      if (a.kind === 'connect') this.connect(a.pool, a.probe);
      else if (a.kind === 'close') this.end(a.pool, 'local');
      else if (a.kind === 'drain') this.end(a.pool, 'local');
    }
    this.clock.clearTimeout(this.timer);
    const at = this.policy.nextDeadline();
    if (at !== undefined) {
      this.timer = this.clock.setTimeout(
        () => this.run(this.policy.tick(this.clock.now())),
        at - this.clock.now(),
      );
    }
  }

  /** Sends a share to the active pool; the pool answers by its `answer` after 50 ms. */
  submit(): void {
    const i = this.policy.active;
    if (i === undefined) return;
    const p = this.pools[i]!;
    const id = ++this.submitSeq;
    const session = p.session;
    this.run(this.policy.submitSent(i, id, this.clock.now()));
    if (p.answer === 'none') return;
    const end: SubmitEnd =
      p.answer === 'accept' ? { status: 'accepted' } : { status: 'rejected', reason: 'stale' };
    p.timers.push(
      this.clock.setTimeout(() => {
        if (p.session === session) this.run(this.policy.submitEnded(i, id, end, this.clock.now()));
      }, 50),
    );
  }

  /** Moves the clock, submitting a share to the active pool every `shareEveryMs` (0: none). */
  advance(ms: number, shareEveryMs = 0): void {
    if (!shareEveryMs) {
      this.clock.advance(ms);
      return;
    }
    for (let t = 0; t < ms; t += shareEveryMs) {
      this.clock.advance(Math.min(shareEveryMs, ms - t));
      this.submit();
    }
  }

  connectsBetween(from: number, to: number, pool?: number): number {
    return this.connects.filter((c) => c.at >= from && c.at < to && (pool === undefined || c.pool === pool))
      .length;
  }

  firstAction(kind: PolicyAction['kind'], after = 0): (PolicyAction & { at: number }) | undefined {
    return this.actions.find((a) => a.kind === kind && a.at >= after);
  }

  private connect(i: number, probe: boolean): void {
    const p = this.pools[i]!;
    this.connects.push({ pool: i, at: this.clock.now(), probe });
    const session = ++this.seq;
    const later = (ms: number, fn: () => void) =>
      p.timers.push(
        this.clock.setTimeout(() => {
          if (p.session === session || (p.session === undefined && session === this.seq)) fn();
        }, ms),
      );
    if (p.mode === 'down') {
      later(5, () => this.run(this.policy.disconnected(i, { reason: 'connect-failed' }, this.clock.now())));
      return;
    }
    later(5, () => {
      p.session = session;
      this.policy.connected(i, this.clock.now());
      if (p.mode === 'storm') {
        // client.reconnect (same host, no wait) right after the subscribe answer.
        later(5, () => this.end(i, 'reconnect-request', 0));
        return;
      }
      later(10, () => {
        this.policy.job(i, this.clock.now());
        this.run(this.policy.ready(i, this.clock.now()));
        if (p.mode === 'frozen') return;
        const again = () =>
          later(p.jobEveryMs, () => {
            if (p.mode === 'frozen') return;
            this.policy.job(i, this.clock.now());
            if (this.policy.active === i) this.jobsFed.push({ pool: i, at: this.clock.now() });
            this.run([]);
            again();
          });
        again();
      });
    });
  }

  /** The pool's session ends (reason as a client reports it). */
  end(i: number, reason: string, reconnectAfterMs?: number): void {
    const p = this.pools[i]!;
    if (p.session === undefined) return;
    p.session = undefined;
    for (const t of p.timers.splice(0)) this.clock.clearTimeout(t);
    this.run(
      this.policy.disconnected(
        i,
        { reason, ...(reconnectAfterMs !== undefined ? { reconnectAfterMs } : {}) },
        this.clock.now(),
      ),
    );
  }
}

describe('PoolPolicy (ManualClock)', () => {
  it('healthy primary: connect, active, no probe, nothing else scheduled but its liveness', () => {
    const w = new World(['ok', 'ok']);
    w.start();
    w.advance(20);
    assert.equal(w.active, 0);
    assert.equal(w.policy.state, 'active');
    w.advance(10 * 60_000);
    assert.equal(w.connects.length, 1);
    assert.equal(w.policy.snapshot().nextProbeAt, undefined);
  });

  it('reconnect storm (client.reconnect right after subscribe): connections per minute stay bounded', (t) => {
    const w = new World(['storm']);
    w.start();
    w.advance(10 * 60_000);
    const first = w.connectsBetween(0, 60_000);
    const last = w.connectsBetween(9 * 60_000, 10 * 60_000);
    t.diagnostic(`reconnect storm, one pool: ${first} connections in minute 1, ${last} in minute 10`);
    assert.ok(first <= 10, `${first} connections in the first minute`);
    assert.ok(last <= 3, `${last} connections in the tenth minute`);
    assert.equal(w.policy.state, 'idle');
  });

  it('reconnect storm with a healthy fallback: failover, then the storming primary is probed less and less', (t) => {
    const w = new World(['storm', 'ok']);
    w.start();
    w.advance(10 * 60_000);
    assert.equal(w.active, 1);
    const toFallback = w.connects.find((c) => c.pool === 1)!.at;
    const first = w.connectsBetween(0, 60_000, 0);
    const last = w.connectsBetween(9 * 60_000, 10 * 60_000, 0);
    t.diagnostic(
      `reconnect storm + fallback: fallback after ${toFallback} ms; storming pool ${first} connections in minute 1, ${last} in minute 10`,
    );
    assert.ok(toFallback <= 5000);
    assert.ok(first <= 12, `${first}`);
    assert.ok(last <= 2, `${last}`);
  });

  it('client.reconnect with a long wait → failover at once; back by the probe (first within 5 s)', (t) => {
    const w = new World(['ok', 'ok']);
    w.start();
    w.advance(1000);
    const at = w.clock.now();
    w.end(0, 'reconnect-request', 3_600_000);
    w.advance(100);
    assert.equal(w.active, 1);
    const failover = w.connects.find((c) => c.pool === 1)!.at - at;
    t.diagnostic(`long reconnect wait (3600 s): fallback connected after ${failover} ms`);
    assert.ok(failover <= 10);
    w.advance(5000);
    const probe = w.connects.find((c) => c.probe)!;
    const activeAt = w.actions.find((a) => a.kind === 'activate' && a.pool === 1)!.at;
    t.diagnostic(`first probe of the primary ${probe.at - activeAt} ms after the fallback took over`);
    assert.ok(probe.at - activeAt <= 5000);
    assert.equal(w.active, 0, 'the primary answered the probe: back on it');
  });

  it('a short reconnect wait is honoured and counts for backoff, without a failover', () => {
    const w = new World(['ok', 'ok']);
    w.start();
    w.advance(1000);
    w.end(0, 'reconnect-request', 3000);
    w.advance(2990);
    assert.equal(w.connects.length, 1);
    w.advance(100);
    assert.equal(w.connects.length, 2);
    assert.equal(w.active, 0);
    assert.equal(w.policy.attempts(0), 1);
  });

  it('liveness is new work: jobs stop (other traffic does not matter) → failover after silenceMs', (t) => {
    const w = new World(['ok', 'ok'], { silenceMs: 60_000 });
    w.pools[0]!.jobEveryMs = 10_000;
    w.start();
    w.advance(30_000, 1000);
    assert.equal(w.active, 0);
    w.pools[0]!.mode = 'frozen';
    const frozeAt = w.clock.now();
    // Shares keep being answered (accepted): still no new job → unhealthy.
    w.advance(70_000, 1000);
    const toFallback = w.actions.find((a) => a.kind === 'activate' && a.pool === 1);
    assert.ok(toFallback, 'the fallback took over');
    const unhealthy = w.actions.find((a) => a.kind === 'log' && a.event === 'pool_unhealthy')!;
    t.diagnostic(
      `no new job (silence 60 s, jobs every 10 s): unhealthy ${unhealthy.at - frozeAt} ms after the freeze`,
    );
    assert.ok(unhealthy.at - frozeAt <= 60_000 && unhealthy.at - frozeAt >= 50_000);
    assert.equal((unhealthy as unknown as { fields: { reason: string } }).fields.reason, 'silence');
  });

  it('frozen pool: a submit unanswered for submitTimeout → failover; shares on the fallback ≤ 30 s after the freeze', (t) => {
    const w = new World(['ok', 'ok'], { submitTimeoutMs: 10_000 });
    w.start();
    w.advance(5000, 2000);
    w.pools[0]!.answer = 'none';
    w.pools[0]!.mode = 'frozen';
    const frozeAt = w.clock.now();
    let firstOnFallback: number | undefined;
    for (let i = 0; i < 400 && firstOnFallback === undefined; i++) {
      w.advance(100);
      if (i % 20 === 19) {
        const before = w.active;
        w.submit();
        if (before === 1) firstOnFallback = w.clock.now();
      }
    }
    assert.ok(firstOnFallback !== undefined);
    const took = firstOnFallback - frozeAt;
    t.diagnostic(
      `frozen pool (submit timeout 10 s, a share every 2 s): first share on the fallback after ${took} ms`,
    );
    assert.ok(took <= 30_000, `${took} ms`);
  });

  it('frozen pool: N submits in a row without an answer → failover before the timeout', (t) => {
    const w = new World(['ok', 'ok'], { submitTimeoutMs: 60_000, unansweredSubmits: 5 });
    w.start();
    w.advance(1000);
    w.pools[0]!.answer = 'none';
    const at = w.clock.now();
    w.advance(20_000, 500);
    assert.equal(w.active, 1);
    const u = w.actions.find((a) => a.kind === 'log' && a.event === 'pool_unhealthy')!;
    t.diagnostic(`5 unanswered submits (one every 500 ms): failover ${u.at - at} ms after the first`);
    assert.equal((u as unknown as { fields: { reason: string } }).fields.reason, 'unanswered-submits');
    assert.ok(u.at - at <= 3000);
  });

  it('a run of rejected shares marks the pool unhealthy although jobs keep coming', (t) => {
    const w = new World(['ok', 'ok'], { rejectRun: 10 });
    w.pools[0]!.jobEveryMs = 1000;
    w.start();
    w.advance(100);
    w.pools[0]!.answer = 'reject';
    const at = w.clock.now();
    w.advance(30_000, 1000);
    assert.equal(w.active, 1);
    const u = w.actions.find((a) => a.kind === 'log' && a.event === 'pool_unhealthy')!;
    t.diagnostic(`all-reject pool (a share a second): failover after ${u.at - at} ms`);
    assert.equal((u as unknown as { fields: { reason: string } }).fields.reason, 'reject-run');
    assert.ok(u.at - at <= 11_000);
    // One accepted share ends a run: 9 rejects + 1 accept + 9 rejects never trips.
    const w2 = new World(['ok', 'ok'], { rejectRun: 10 });
    w2.start();
    w2.advance(100);
    for (const answer of ['reject', 'accept', 'reject'] as const) {
      w2.pools[0]!.answer = answer;
      w2.advance(answer === 'accept' ? 1000 : 9000, 1000);
    }
    assert.equal(w2.active, 0);
  });

  it('recovered primary: probes at 5 s, 10 s, 20 s… (capped), return at the first healthy probe', (t) => {
    const w = new World(['ok', 'ok'], { probeFirstMs: 5000, probeIntervalMs: 60_000 });
    w.start();
    w.advance(100);
    w.pools[0]!.mode = 'down';
    const downAt = w.clock.now();
    w.end(0, 'closed-by-pool');
    w.advance(3 * 60_000);
    const switchedAt = w.actions.find((a) => a.kind === 'activate' && a.pool === 1)!.at;
    const probes = w.connects.filter((c) => c.probe).map((c) => c.at - switchedAt);
    t.diagnostic(`failover after ${switchedAt - downAt} ms; probes at ${probes.join(', ')} ms after it`);
    assert.ok(probes[0]! <= 5000);
    for (let k = 1; k < probes.length; k++) {
      const gap = probes[k]! - probes[k - 1]!;
      assert.ok(gap >= probes[k - 1]! - (probes[k - 2] ?? 0) - 20 && gap <= 60_000 + 20, `gap ${gap}`);
    }
    w.pools[0]!.mode = 'ok';
    const upAt = w.clock.now();
    w.advance(70_000);
    assert.equal(w.active, 0);
    const back = w.actions.filter((a) => a.kind === 'activate').at(-1)!.at - upAt;
    t.diagnostic(`primary back: returned after ${back} ms (probe interval capped at 60 s)`);
    assert.ok(back <= 60_000 + 50);
  });

  it('a primary that fails again right after each return is probed less and less often', () => {
    const w = new World(['ok', 'ok'], { stableMs: 60_000 });
    w.start();
    w.advance(100);
    const returns: number[] = [];
    for (let k = 0; k < 6; k++) {
      w.end(0, 'closed-by-pool');
      w.end(0, 'closed-by-pool');
      // Retries fail at once too until it has switched; then wait for the probe to bring it back.
      w.pools[0]!.mode = 'down';
      w.advance(10_000);
      w.pools[0]!.mode = 'ok';
      const from = w.clock.now();
      w.advance(130_000);
      if (w.active === 0) returns.push(w.actions.filter((a) => a.kind === 'activate').at(-1)!.at - from);
      w.advance(1000);
    }
    assert.ok(returns.length >= 3);
    assert.ok(returns.at(-1)! >= returns[0]!, `return delays ${returns.join(', ')}`);
  });

  it('all pools down → idle; retries back off (≤ 30 s apart); a pool back → active', () => {
    const w = new World(['down', 'down']);
    w.start();
    w.advance(5 * 60_000);
    assert.equal(w.policy.state, 'idle');
    assert.equal(w.actions.filter((a) => a.kind === 'idle').length, 1);
    const lastGaps = w.connects.slice(-5).map((c, k, a) => (k ? c.at - a[k - 1]!.at : 0));
    assert.ok(lastGaps.every((g) => g <= 30_000 + 10));
    assert.ok(w.connectsBetween(4 * 60_000, 5 * 60_000) <= 6);
    w.pools[1]!.mode = 'ok';
    w.advance(31_000);
    assert.equal(w.active, 1);
    assert.equal(w.policy.state, 'active');
  });

  it('manual switch: the chosen pool becomes preferred, no failure counted on the one left', () => {
    const w = new World(['ok', 'ok']);
    w.start();
    w.advance(100);
    w.run(w.policy.switchTo(1, w.clock.now()));
    w.advance(100);
    assert.equal(w.active, 1);
    assert.equal(w.policy.preferred, 1);
    assert.equal(w.policy.attempts(0), 0);
    assert.equal(w.policy.snapshot().nextProbeAt, undefined);
  });

  it('stop() leaves nothing scheduled', () => {
    const w = new World(['ok', 'storm']);
    w.start();
    w.advance(100);
    w.policy.stop();
    assert.equal(w.policy.nextDeadline(), undefined);
    assert.deepEqual(w.policy.tick(w.clock.now() + 1e9), []);
  });
});
