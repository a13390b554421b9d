/**
 * Chain supervision (host/miner/supervisor.ts), pure, under the ManualClock: which chain is ready, which
 * chains get jobs and when, retry timing, no re-init of chains just initialised, parked chains brought
 * back on resume, stale init results ignored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChainSupervisor, type SupervisorAction } from '../../host/miner/supervisor.ts';
import { ManualClock } from '../../lib/clock.ts';

const kinds = (a: SupervisorAction[]) =>
  a.map((x) => (x.kind === 'running' || !('chain' in x) ? x.kind : `${x.kind}:${x.chain}`));
const initToken = (a: SupervisorAction[], chain: number): number => {
  const x = a.find((y) => y.kind === 'init' && y.chain === chain);
  assert.ok(x && x.kind === 'init', `an init of chain ${chain} in ${JSON.stringify(a)}`);
  return x.token;
};

/** Drives the supervisor on a ManualClock the way the Miner does: one timer at its next deadline. */
function rig(chains: number, retryMs = 10_000) {
  const clock = new ManualClock();
  const sup = new ChainSupervisor({ chains, retryMs });
  const log: SupervisorAction[] = [];
  let timer: ReturnType<ManualClock['setTimeout']> | undefined;
  const run = (a: SupervisorAction[]) => {
    log.push(...a);
    clock.clearTimeout(timer);
    const at = sup.nextDeadline();
    if (at !== undefined) timer = clock.setTimeout(() => run(sup.tick(clock.now())), at - clock.now());
    return a;
  };
  return { clock, sup, log, run };
}

describe('ChainSupervisor', () => {
  it('start: every chain initialises; nothing is usable or fed until a chain is ready', () => {
    const { clock, sup, run } = rig(2);
    const a = run(sup.start(clock.now()));
    assert.deepEqual(kinds(a), ['init:0', 'init:1']);
    assert.equal(sup.usable(), false, 'the gate cannot open during the first init');
    assert.deepEqual(run(sup.gateOpened(clock.now())), [], 'nothing to feed, no re-init');
    assert.equal(sup.feeds(0), false);
    assert.deepEqual(sup.start(clock.now()), [], 'start is once');
  });

  it('a chain that is ready when the gate opens is fed at once, never initialised again', () => {
    const { clock, sup, run } = rig(1);
    const t = initToken(run(sup.start(clock.now())), 0);
    clock.advance(3000); // the ramp
    const done = run(sup.initDone(0, t, clock.now()));
    assert.deepEqual(kinds(done), ['log', 'all-ready']);
    assert.equal(sup.usable(), true);
    assert.equal(sup.feeds(0), false, 'gate still closed (no pool yet)');
    const open = run(sup.gateOpened(clock.now()));
    assert.deepEqual(kinds(open), ['feed:0', 'running']);
    assert.ok(!open.some((x) => x.kind === 'init'), 'no re-init of a chain just initialised');
    assert.equal(sup.feeds(0), true);
    assert.equal(sup.snapshot()[0]!.phase, 'ready');
    assert.equal(sup.snapshot()[0]!.since, clock.now());
  });

  it('gate closes: ready chains are parked; reopening re-initialises them and feeds each once its init is done', () => {
    const { clock, sup, run } = rig(2);
    const s = run(sup.start(clock.now()));
    run(sup.initDone(0, initToken(s, 0), clock.now()));
    run(sup.initDone(1, initToken(s, 1), clock.now()));
    run(sup.gateOpened(clock.now()));
    const closed = run(sup.gateClosed(clock.now()));
    assert.deepEqual(kinds(closed), ['idle:0', 'idle:1']);
    assert.equal(sup.feeds(0), false);
    assert.equal(sup.usable(), true, 'parked chains can be resumed');
    const reopen = run(sup.gateOpened(clock.now()));
    assert.deepEqual(kinds(reopen), ['init:0', 'init:1'], 'no feed before the re-init');
    assert.deepEqual(sup.waitingFor(), [0, 1]);
    assert.equal(sup.usable(), true, 'the gate stays open while they resume');
    assert.equal(sup.feeds(0), false, 'a chain is never fed while its init runs');
    clock.advance(500);
    const d0 = run(sup.initDone(0, initToken(reopen, 0), clock.now()));
    assert.deepEqual(kinds(d0), ['log', 'feed:0'], 'chain 0 fed alone; not running until chain 1 is back');
    const d1 = run(sup.initDone(1, initToken(reopen, 1), clock.now()));
    assert.deepEqual(kinds(d1), ['log', 'feed:1', 'running']);
  });

  it('an init that ends while the gate is held closed parks the chips; one that ends after it reopened is fed', () => {
    const { clock, sup, run } = rig(1);
    const s = run(sup.start(clock.now()));
    run(sup.initDone(0, initToken(s, 0), clock.now()));
    run(sup.gateOpened(clock.now()));
    sup.setHeld(true);
    run(sup.gateClosed(clock.now()));
    sup.setHeld(false);
    const resume = run(sup.gateOpened(clock.now()));
    sup.setHeld(true);
    run(sup.gateClosed(clock.now())); // e.g. overheat while the chain was being re-initialised
    assert.deepEqual(kinds(run(sup.initDone(0, initToken(resume, 0), clock.now()))), ['idle:0']);
    assert.equal(sup.phase(0), 'idle');
    const again = run(sup.gateOpened(clock.now()));
    run(sup.gateClosed(clock.now()));
    sup.setHeld(false);
    run(sup.gateOpened(clock.now())); // reopened before the init ended
    assert.deepEqual(kinds(run(sup.initDone(0, initToken(again, 0), clock.now()))), [
      'log',
      'feed:0',
      'running',
    ]);
  });

  it('a failed init is retried retryMs later on the clock, with one fault per failure', () => {
    const { clock, sup, run, log } = rig(1, 10_000);
    const t = initToken(run(sup.start(clock.now())), 0);
    clock.advance(1000);
    const f = run(sup.initFailed(0, t, 'no chips answered', clock.now()));
    assert.deepEqual(kinds(f), ['fault:0']);
    assert.match((f[0] as { message: string }).message, /init failed: no chips answered; retrying in 10 s/);
    assert.equal(sup.phase(0), 'retry');
    assert.equal(sup.nextDeadline(), clock.now() + 10_000);
    const before = log.length;
    clock.advance(9999);
    assert.equal(log.length, before, 'no retry before retryMs');
    clock.advance(1);
    assert.deepEqual(kinds(log.slice(before)), ['init:0']);
    assert.equal(sup.phase(0), 'init');
    assert.equal(sup.snapshot()[0]!.failures, 1);
    const t2 = initToken(log.slice(before), 0);
    run(sup.initDone(0, t2, clock.now()));
    assert.equal(sup.snapshot()[0]!.failures, 0, 'a good init resets the count');
    assert.equal(clock.pending(), 0, 'no timer left');
  });

  it('a chain that goes down stops getting work and is retried; the other chains keep hashing', () => {
    const { clock, sup, run, log } = rig(2, 5000);
    const s = run(sup.start(clock.now()));
    run(sup.initDone(0, initToken(s, 0), clock.now()));
    run(sup.initDone(1, initToken(s, 1), clock.now()));
    run(sup.gateOpened(clock.now()));
    const d = run(sup.down(1, clock.now()));
    assert.deepEqual(kinds(d), ['unfeed:1', 'log']);
    assert.equal(sup.feeds(1), false);
    assert.equal(sup.feeds(0), true, 'chain 0 is not held back');
    assert.equal(sup.usable(), true);
    assert.deepEqual(sup.down(1, clock.now()), [], 'one down per outage');
    const before = log.length;
    clock.advance(5000);
    const retry = log.slice(before);
    assert.deepEqual(kinds(retry), ['init:1']);
    assert.deepEqual(sup.waitingFor(), [], 'a retry is not waited for');
    assert.deepEqual(kinds(run(sup.initDone(1, initToken(retry, 1), clock.now()))), [
      'log',
      'feed:1',
      'all-ready',
    ]);
  });

  it('a chain back from a retry while only the chains kept the gate closed stays ready: one init, then fed', () => {
    const { clock, sup, run, log } = rig(1, 1000);
    const s = run(sup.start(clock.now()));
    run(sup.initDone(0, initToken(s, 0), clock.now()));
    run(sup.gateOpened(clock.now()));
    run(sup.down(0, clock.now()));
    assert.equal(sup.usable(), false);
    sup.setHeld(false); // pool and thermal still fine: the chain alone closes the gate
    run(sup.gateClosed(clock.now()));
    const before = log.length;
    clock.advance(1000);
    const retry = log.slice(before);
    assert.deepEqual(kinds(run(sup.initDone(0, initToken(retry, 0), clock.now()))), ['log', 'all-ready']);
    assert.equal(sup.phase(0), 'ready', 'not parked');
    assert.deepEqual(kinds(run(sup.gateOpened(clock.now()))), ['feed:0', 'running'], 'no second init');
  });

  it('a chain back from a retry while the gate is held (paused) is parked until the gate opens', () => {
    const { clock, sup, run, log } = rig(1, 1000);
    const s = run(sup.start(clock.now()));
    run(sup.initDone(0, initToken(s, 0), clock.now()));
    run(sup.gateOpened(clock.now()));
    sup.setHeld(true);
    run(sup.gateClosed(clock.now()));
    run(sup.down(0, clock.now()));
    const before = log.length;
    clock.advance(1000);
    const retry = log.slice(before);
    assert.deepEqual(kinds(run(sup.initDone(0, initToken(retry, 0), clock.now()))), ['idle:0', 'all-ready']);
    assert.equal(sup.hashing(), false);
  });

  it('the only chain failing its resume closes the gate (not usable) until its retry succeeds', () => {
    const { clock, sup, run } = rig(1, 2000);
    const s = run(sup.start(clock.now()));
    run(sup.initDone(0, initToken(s, 0), clock.now()));
    run(sup.gateOpened(clock.now()));
    run(sup.gateClosed(clock.now()));
    const r = run(sup.gateOpened(clock.now()));
    const f = run(sup.initFailed(0, initToken(r, 0), 'UART write failed', clock.now()));
    assert.match((f[0] as { message: string }).message, /could not resume: UART write failed/);
    assert.equal(sup.usable(), false);
  });

  it('results of a superseded init (down, restart, stop) are ignored', () => {
    const { clock, sup, run } = rig(1, 1000);
    const t = initToken(run(sup.start(clock.now())), 0);
    run(sup.down(0, clock.now())); // link lost during the init
    assert.deepEqual(sup.initDone(0, t, clock.now()), [], 'the old init result is stale');
    assert.deepEqual(sup.initFailed(0, t, 'x', clock.now()), []);
    assert.equal(sup.phase(0), 'down');
    const again = sup.retryNow(clock.now()); // e.g. a power fault cleared
    const t2 = initToken(again, 0);
    const re = sup.reinitAll(clock.now());
    assert.deepEqual(sup.initDone(0, t2, clock.now()), [], 'superseded by the restart');
    sup.stop();
    assert.deepEqual(sup.initDone(0, initToken(re, 0), clock.now()), []);
    assert.deepEqual(sup.tick(clock.now() + 1e6), []);
    assert.equal(sup.nextDeadline(), undefined);
    assert.deepEqual(sup.gateOpened(clock.now()), []);
  });

  it('restart re-initialises every chain and keeps them ready for the next opening (not parked)', () => {
    const { clock, sup, run } = rig(1);
    const s = run(sup.start(clock.now()));
    run(sup.initDone(0, initToken(s, 0), clock.now()));
    run(sup.gateOpened(clock.now()));
    run(sup.gateClosed(clock.now())); // the restart pauses first
    const re = run(sup.reinitAll(clock.now()));
    assert.equal(sup.usable(), true);
    run(sup.initDone(0, initToken(re, 0), clock.now()));
    assert.equal(sup.phase(0), 'ready');
    assert.deepEqual(
      kinds(run(sup.gateOpened(clock.now()))),
      ['feed:0', 'running'],
      'fed, not re-initialised',
    );
  });

  it('a latched power fault parks the chain for good: one line, no retries on the clock, gate closed; clear brings it back', () => {
    const { clock, sup, run, log } = rig(2, 10_000);
    const s = run(sup.start(clock.now()));
    run(sup.initDone(0, initToken(s, 0), clock.now()));
    run(sup.initDone(1, initToken(s, 1), clock.now()));
    run(sup.gateOpened(clock.now()));
    const l = run(sup.latched(0, clock.now(), 'regulator fault IOUT_OC', 'restart asicd or clear_fault'));
    assert.deepEqual(kinds(l), ['unfeed:0', 'log']);
    const line = l[1] as Extract<SupervisorAction, { kind: 'log' }>;
    assert.equal(line.event, 'chain.latched');
    assert.equal(line.fields.clears, 'restart asicd or clear_fault');
    assert.equal(sup.phase(0), 'latched');
    assert.equal(sup.feeds(0), false);
    assert.equal(sup.feeds(1), true, 'the other chain keeps hashing');
    assert.equal(sup.snapshot()[0]!.lastError, 'regulator fault IOUT_OC');
    assert.equal(sup.snapshot()[0]!.nextRetryAt, null);
    // The chips going offline after the latch, a second report, time passing, a restart: nothing.
    assert.deepEqual(sup.down(0, clock.now()), []);
    assert.deepEqual(sup.latched(0, clock.now(), 'again', 'x'), []);
    const before = log.length;
    clock.advance(10 * 60_000);
    assert.deepEqual(log.slice(before), [], 'no init attempt in 10 minutes');
    assert.equal(clock.pending(), 0, 'no retry timer armed');
    assert.deepEqual(
      kinds(sup.reinitAll(clock.now())),
      ['init:1'],
      'a restart of the chains leaves it latched',
    );
    // Clear: re-initialised now.
    const c = run(sup.retryNow(clock.now()));
    assert.deepEqual(kinds(c), ['init:0']);
    assert.equal(sup.phase(0), 'init');
  });

  it('latched after a down (chips stopped before the power poll saw the fault): the pending retry is cancelled', () => {
    const { clock, sup, run, log } = rig(1, 10_000);
    const s = run(sup.start(clock.now()));
    run(sup.initDone(0, initToken(s, 0), clock.now()));
    run(sup.gateOpened(clock.now()));
    run(sup.down(0, clock.now()));
    assert.equal(sup.nextDeadline(), clock.now() + 10_000);
    run(sup.latched(0, clock.now(), 'PGOOD lost', 'restart'));
    assert.equal(sup.nextDeadline(), undefined);
    assert.equal(sup.usable(), false, 'the gate stays closed');
    const before = log.length;
    clock.advance(60_000);
    assert.deepEqual(log.slice(before), []);
  });

  it('a latch during an init makes the result of that init stale', () => {
    const { clock, sup, run } = rig(1);
    const t = initToken(run(sup.start(clock.now())), 0);
    run(sup.latched(0, clock.now(), 'IOUT_OC', 'restart'));
    assert.deepEqual(sup.initDone(0, t, clock.now()), []);
    assert.deepEqual(sup.initFailed(0, t, 'x', clock.now()), []);
    assert.equal(sup.phase(0), 'latched');
  });
});
