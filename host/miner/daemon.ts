/**
 * The daemon: joins the pool manager, the per-chain scheduler, the chain driver and the thermal monitor,
 * and exposes the result as a MinerSource (state, events, control) for telemetry and the CLI.
 *
 * Hashing is allowed only when all of these hold, and the chips are idled the moment one fails:
 *   thermal says so (started, not overheated, temperature known) · not paused · a pool is active ·
 *   the chain is initialised.
 * Startup: thermal first (fan spinning, first valid reading); then the chains initialise and ramp while
 * the pool session comes up (subscribe, authorize, first job), so the first share is not delayed by the
 * ramp — the gate feeds nothing until a chain is ready. Shutdown: chips idle first, then pending submits
 * (≤ 2 s), then the rest.
 *
 * The decisions are pure parts tested under the ManualClock: the gate (gate.ts), chain supervision
 * (supervisor.ts: which chain is ready, retries, which chains get jobs), the frequency book
 * (frequency.ts: recorded once the chains took it) and the state projection (project.ts). The pool side
 * (pool-wiring.ts: events → jobs, shares → pools and ledgers) and the control commands (control.ts: range
 * checks, then carried out here) are their own modules. This class wires them to the hardware, the pool
 * manager and the thermal monitor.
 */

import type { BoardProfile } from '../../boards/types.ts';
import type { FanDriver, TemperatureSensor } from '../../drivers/sensors/types.ts';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import type {
  ChainLinkHealth,
  MinerControl,
  MinerEvent,
  MinerLimits,
  MinerSource,
  MinerState,
  MiningState,
  Unsubscribe,
} from '../api/types.ts';
import type { PoolConfig, PoolManagerOptions } from '../stratum/pool-manager.ts';
import { PoolManager } from '../stratum/pool-manager.ts';
import { createThermal, type Thermal, type ThermalDecision } from '../thermal/index.ts';
import { VERSION } from '../version.ts';
import { type ControlHost, makeMinerControl } from './control.ts';
import { FrequencyBook } from './frequency.ts';
import { hashingGate } from './gate.ts';
import type { BoardPower } from './hardware.ts';
import type { ShareLedger } from './ledger.ts';
import { errorMessage, PoolWiring, safe } from './pool-wiring.ts';
import { powerInfo } from './power-state.ts';
import { miningState, projectState, type StateParts } from './project.ts';
import { type ChainPort, ChainScheduler, type ChipNonce, jobIntervalMs } from './scheduler.ts';
import { ShareBook } from './shares.ts';
import { SHUTDOWN_BUDGET_MS, SHUTDOWN_CLOSE_MS } from './shutdown.ts';
import { ChainSupervisor, type SupervisorAction } from './supervisor.ts';

/** What the daemon needs from a chain (a driver over a transport, real or emulated). */
export interface ChainRuntime extends ChainPort {
  readonly name: string;
  /** Enumerates and configures the chips and ramps to `frequencyMhz`. Rejects with a clear error. */
  init(frequencyMhz: number): Promise<void>;
  setFrequency(mhz: number): Promise<void>;
  setVersionMask(mask: number): Promise<void>;
  /** Stops the chips hashing (no more work; on real boards: low clock / reset held). */
  idle(): Promise<void>;
  onNonce(listener: (n: ChipNonce) => void): Unsubscribe;
  /** Faults after init (chain stopped answering, device unplugged). */
  onFault(listener: (message: string) => void): Unsubscribe;
  /**
   * The chain went offline or failed (link closed, chips gone): it needs init() again. With `latched`:
   * the board's power latched a fault — no init can succeed until it is cleared (`clears` says how).
   */
  onDown(listener: (latched?: { reason: string; clears: string }) => void): Unsubscribe;
  /** idle() holds the chips in reset (otherwise they only get no new work, at a low clock). */
  readonly canHoldReset: boolean;
  /** The chips' ticket (reporting floor) difficulty. */
  readonly ticketDifficulty: number;
  /** Hashrate from the chips' own counters (GH/s), where they have them. */
  counterHashrateGhs?(): number | undefined;
  /** CRC errors, resyncs, dropped bytes and unknown frames on the chain's link, where it has one. */
  linkHealth?(): ChainLinkHealth;
  close(): Promise<void>;
}

/** A board's hardware, ready to use: built by host/miner/hardware.ts from a BoardProfile. */
export interface BoardHardware {
  chains: ChainRuntime[];
  sensors: TemperatureSensor[];
  fan?: FanDriver;
  /** What the chips can really do now, GH/s (frequency × cores, or the emulator's measured rate). */
  expectedGhs(frequencyMhz: number): number;
  /** Hooks for emulated boards (the thermal model follows hashing and frequency). */
  onHashing?(hashing: boolean): void;
  onFrequency?(mhz: number): void;
  /** Board power (host/power), on boards with power capabilities. */
  power?: BoardPower;
  close(): Promise<void>;
}

export interface MinerOptions {
  board: BoardProfile;
  hardware: BoardHardware;
  pools: PoolConfig[];
  deviceId: string;
  name?: string;
  frequencyMhz?: number;
  /** 'auto' (PID) or a fixed duty. */
  fan?: 'auto' | number;
  /** false only with an explicit --no-thermal. */
  thermal?: boolean;
  targetTempC?: number;
  maxTempC?: number;
  /** Protection tuning (tests shorten the cool-down before a resume; defaults from host/thermal). */
  thermalTuning?: { minCooldownMs?: number; hysteresisC?: number };
  /** Version mask the chips roll (BIP 310 request); default 0x1fffe000. */
  versionMask?: number;
  /** Chip job interval override (ms); default from the model (ESP-Miner). */
  jobIntervalMs?: number;
  /** Retry period for a chain that failed to initialise (default 10 s). */
  chainRetryMs?: number;
  pool?: Partial<Omit<PoolManagerOptions, 'pools' | 'clock' | 'logger'>>;
  clock?: Clock;
  logger?: Logger;
}

type Listener = (e: MinerEvent) => void;

/** How often a healthy standby pool is probed when the configuration does not say (ms). */
export const DEFAULT_STANDBY_PROBE_MS = 60_000;

export class Miner implements MinerSource {
  readonly limits: MinerLimits;
  readonly control: MinerControl;
  readonly pools: PoolManager;
  readonly thermal: Thermal;
  readonly schedulers: ChainScheduler[];
  private readonly o: MinerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly listeners = new Set<Listener>();
  private readonly startedAt: number;
  /** Target, per-chain and recorded frequency (pure, frequency.ts): recorded once the chains took it. */
  private readonly freq: FrequencyBook;
  /** PoolManager events → jobs, shares → pools and ledgers (pool-wiring.ts). */
  private readonly wiring: PoolWiring;
  private paused = false;
  private thermalAllowed = false;
  private poolActive = false;
  private hashing = false;
  /** Chain supervision (pure): which chain is ready, retries, which chains get jobs. */
  readonly supervisor: ChainSupervisor;
  private supTimer: TimerHandle | undefined;
  private supTimerAt: number | undefined;
  /** chain.init() calls in flight (start() and restart wait for them). */
  private readonly inits = new Set<Promise<void>>();
  private overheat: { active: boolean; since?: number; reason?: string } = { active: false };
  /** Set while hashing is stopped because a sensor cannot be read (unknown temperature = hot). */
  private thermalFault: string | undefined;
  private fanMode: 'auto' | 'manual';
  private statusTimer: TimerHandle | undefined;
  private stopped = false;
  /** Set by emergencyStop(): nothing may hash again in this process. stop() still cleans up. */
  private halted = false;
  private readonly unsubs: Unsubscribe[] = [];
  private hwErrorsLogged = 0;
  /** The share books: a ledger per pool (by the connection that issued the job), per chain, unattributed. */
  readonly shares: ShareBook;
  /** One share ledger per pool. */
  get ledgers(): ShareLedger[] {
    return this.shares.pools;
  }
  /** Shares whose pool is unknown (its connection token forgotten). */
  get unattributed(): ShareLedger {
    return this.shares.unattributed;
  }
  /** One ledger per chain (cgminer `devs`). */
  get chainLedgers(): ShareLedger[] {
    return this.shares.chains;
  }

  constructor(o: MinerOptions) {
    this.o = o;
    this.clock = o.clock ?? systemClock;
    this.log = o.logger ?? silentLogger;
    this.startedAt = this.clock.now();
    const lim = o.board.limits;
    this.freq = new FrequencyBook({
      limits: { min: lim.frequencyMhz.min, max: lim.frequencyMhz.max },
      initial: o.frequencyMhz ?? lim.frequencyMhz.default,
      chains: o.hardware.chains.length,
    });
    this.limits = {
      frequencyMhz: { min: lim.frequencyMhz.min, max: lim.frequencyMhz.max },
      fanPercent: { min: lim.minFanPercent, max: 100 },
      ...(o.hardware.power?.settable ? { voltageMv: o.hardware.power.window() } : {}),
    };
    this.fanMode = o.fan === undefined || o.fan === 'auto' ? 'auto' : 'manual';
    const versionMask = o.versionMask ?? 0x1fffe000;
    this.pools = new PoolManager({
      // Pending submits get what the shutdown budget leaves after the chips idled (see stop()).
      stopTimeoutMs: SHUTDOWN_BUDGET_MS - SHUTDOWN_CLOSE_MS - 400,
      // Standby pools answer a probe every minute, so the API can say they are alive (cgminer's way);
      // `pool.standbyProbeInterval` (--pool-standby-probe-interval) overrides it through o.pool.
      standbyProbeMs: DEFAULT_STANDBY_PROBE_MS,
      ...o.pool,
      pools: o.pools,
      versionRollingMask: versionMask,
      clock: this.clock,
      logger: this.log.child('pool'),
    });
    this.thermal =
      o.thermal === false
        ? createThermal({ disabled: true, frequencyMHz: this.freq.recorded })
        : createThermal({
            sensors: o.hardware.sensors,
            ...(o.hardware.fan ? { fan: o.hardware.fan } : {}),
            protection: {
              limitC: o.maxTempC ?? lim.maxTempC,
              targetC: o.targetTempC ?? lim.targetTempC,
              frequencyMHz: this.freq.recorded,
              minFrequencyMHz: lim.frequencyMhz.min,
              ...o.thermalTuning,
            },
            fanControl: { targetC: o.targetTempC ?? lim.targetTempC, minDuty: lim.minFanPercent },
            clock: this.clock,
            logger: this.log.child('thermal'),
          });
    this.supervisor = new ChainSupervisor({
      chains: o.hardware.chains.length,
      ...(o.chainRetryMs !== undefined ? { retryMs: o.chainRetryMs } : {}),
    });
    this.shares = new ShareBook({ pools: o.pools.length, chains: o.hardware.chains.length });
    this.schedulers = o.hardware.chains.map(
      (chain, i) =>
        new ChainScheduler({
          chain,
          clock: this.clock,
          logger: this.log.child(`chain${i}`),
          intervalMs: o.jobIntervalMs ?? jobIntervalMs(chain.model, chain.chipCount, this.freq.recorded),
          ticketDifficulty: chain.ticketDifficulty,
          extranonce2Lane: { index: i, count: o.hardware.chains.length },
          submit: (s) => this.wiring.submit(s, i),
          below: (s) =>
            this.shares.below({ token: String(s.poolToken), chain: i, block: s.check.kind === 'block' }),
        }),
    );
    this.wiring = new PoolWiring({
      clock: this.clock,
      log: this.log,
      pools: this.pools,
      shares: this.shares,
      schedulers: this.schedulers,
      chains: o.hardware.chains,
      feeds: (i) => this.supervisor.feeds(i),
      poolActive: (active) => {
        this.poolActive = active;
        this.update();
      },
      emit: (e) => this.emit(e),
      changed: () => this.changed(),
      fault: (c, sev, m) => this.fault(c, sev, m),
    });
    this.control = makeMinerControl(this.controlHost());
  }

  // ------------------------------------------------------------------------------------------------
  // lifecycle

  async start(): Promise<void> {
    const { hardware } = this.o;
    this.unsubs.push(this.thermal.onDecision((d) => this.onThermal(d)));
    if (this.fanMode === 'manual') this.thermal.setManualFan(Number(this.o.fan));
    this.thermal.start();
    if (this.o.thermal === false) this.thermalAllowed = true;
    for (const [i, chain] of hardware.chains.entries()) {
      this.unsubs.push(chain.onNonce((n) => this.onNonce(i, n)));
      this.unsubs.push(chain.onFault((m) => this.fault(`chain${i}`, 'error', m)));
      this.unsubs.push(
        chain.onDown((l) =>
          this.runSupervisor(
            l
              ? this.supervisor.latched(i, this.clock.now(), l.reason, l.clears)
              : this.supervisor.down(i, this.clock.now()),
          ),
        ),
      );
    }
    this.wiring.attach();
    // The pool session comes up while the chains initialise and ramp (seconds on real chips): the first
    // job is waiting when the first chain is ready. The gate feeds nothing before that.
    this.pools.start();
    this.runSupervisor(this.supervisor.start(this.clock.now()));
    // start() resolves once every chain's first init ended (ready, or failed and retrying).
    await this.initsSettled();
  }

  /** Waits for the chain inits in flight (never rejects). */
  private async initsSettled(): Promise<void> {
    while (this.inits.size > 0) await Promise.allSettled([...this.inits]);
  }

  /**
   * Carries out the supervisor's actions, arms its one timer at its next deadline and re-evaluates the
   * gate. Never throws: a failing chain write becomes a fault, not a crash.
   */
  private runSupervisor(actions: SupervisorAction[]): void {
    const chains = this.o.hardware.chains;
    for (const a of actions) {
      const chain = 'chain' in a && typeof a.chain === 'number' ? chains[a.chain] : undefined;
      switch (a.kind) {
        case 'init':
          if (chain) this.initChain(a.chain, chain, a.token);
          break;
        case 'idle':
          this.schedulers[a.chain]?.idle();
          if (chain)
            void safe(() => chain.idle()).catch((e) =>
              this.fault(`chain${a.chain}`, 'error', `${chain.name}: idle failed: ${errorMessage(e)}`),
            );
          break;
        case 'unfeed':
          this.schedulers[a.chain]?.idle();
          break;
        case 'feed':
          // A chain fed without an init (it was ready) still runs its old clock after a change: retune it.
          if (this.freq.offTarget(a.chain)) this.retune(a.chain);
          this.wiring.feedLatest(a.chain);
          break;
        case 'running':
          this.log.info('mining.running', { frequencyMhz: this.freq.recorded, chains: a.chains });
          break;
        case 'all-ready':
          this.log.info('chains.ready', {
            chains: chains.map((c) => `${c.name}: ${c.chipCount} × ${c.model.model}`),
            frequencyMhz: this.freq.recorded,
          });
          break;
        case 'fault':
          this.fault(`chain${a.chain}`, 'error', `${chain?.name ?? `chain ${a.chain}`}: ${a.message}`);
          break;
        case 'log':
          this.log[a.level](a.event, a.fields);
          break;
      }
    }
    this.armSupervisorTimer();
    this.update();
  }

  private armSupervisorTimer(): void {
    const at = this.supervisor.nextDeadline();
    if (at === this.supTimerAt && (at === undefined || this.supTimer)) return;
    this.clock.clearTimeout(this.supTimer);
    this.supTimer = this.supTimerAt = undefined;
    if (at === undefined || this.stopped) return;
    this.supTimerAt = at;
    this.supTimer = this.clock.setTimeout(
      () => {
        this.supTimer = this.supTimerAt = undefined;
        this.runSupervisor(this.supervisor.tick(this.clock.now()));
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  /**
   * One chain's init (enumeration, configuration, ramp to the current frequency), reported to the
   * supervisor. A rejection (device missing, no chips answering, a UART write failing) is a fault with a
   * retry, never an unhandled rejection.
   */
  private initChain(index: number, chain: ChainRuntime, token: number): void {
    const mhz = this.freq.target;
    const p = safe(() => chain.init(mhz))
      .then(
        () => {
          // stop() ran meanwhile: the chips took an idle() that this init may have undone.
          if (this.stopped) return this.idleChips();
          this.freq.took(index, mhz);
          this.runSupervisor(this.supervisor.initDone(index, token, this.clock.now()));
          if (this.supervisor.phase(index) === 'ready' && mhz !== this.freq.target) this.retune(index);
          this.settleFrequency('init');
        },
        (err: unknown) => {
          if (this.stopped) return;
          this.runSupervisor(this.supervisor.initFailed(index, token, errorMessage(err), this.clock.now()));
        },
      )
      .catch((err: unknown) =>
        this.fault(`chain${index}`, 'error', `chain supervision failed: ${errorMessage(err)}`),
      )
      .finally(() => this.inits.delete(p));
    this.inits.add(p);
  }

  /** True once stop() idled the chips (the board is safe even if the rest of the stop is cut short). */
  get chipsIdle(): boolean {
    return this.chipsIdled;
  }
  private chipsIdled = false;
  private idlingChips: Promise<void> | undefined;

  /** Idles every chain (bounded by the shutdown budget); the first step of every stop. */
  idleChips(): Promise<void> {
    this.idlingChips ??= bounded(
      Promise.allSettled(this.o.hardware.chains.map((c) => safe(() => c.idle()))).then(() => {
        this.chipsIdled = true;
        this.log.info('chains.idle', {});
      }),
      SHUTDOWN_BUDGET_MS - SHUTDOWN_CLOSE_MS,
    ).finally(() => {
      this.idlingChips = undefined;
    });
    return this.idlingChips;
  }

  /**
   * The orderly stop, within SHUTDOWN_BUDGET_MS: chips idle first, then pending submits get what is left
   * of the budget, then everything closes. Safe at any moment (during init, ramp, failover, a second
   * call). Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }
  private stopping: Promise<void> | undefined;

  private async doStop(): Promise<void> {
    const t0 = this.clock.now();
    this.stopped = true;
    this.paused = true;
    this.update();
    this.supervisor.stop();
    this.clock.clearTimeout(this.supTimer);
    for (const s of this.schedulers) s.stop();
    await this.idleChips();
    this.clock.clearInterval(this.statusTimer);
    const left = SHUTDOWN_BUDGET_MS - SHUTDOWN_CLOSE_MS - (this.clock.now() - t0);
    await bounded(this.pools.stop(), Math.max(0, left));
    for (const u of this.unsubs.splice(0)) u();
    await bounded(this.thermal.stop(), 200);
    // Leaving: the fan keeps the last duty we write. Chips held in reset need little air (ESP-Miner's 30 %);
    // chips we could only starve of work may still be finishing a job, so they get full air.
    const exitDuty = this.o.hardware.chains.every((c) => c.canHoldReset) ? 30 : 100;
    const fan = this.o.hardware.fan;
    await bounded(
      fan
        ? safe(() => fan.setDuty(exitDuty)).catch((e) =>
            this.log.warn('fan.exit_failed', { error: e as Error }),
          )
        : Promise.resolve(),
      200,
    );
    await bounded(Promise.allSettled(this.o.hardware.chains.map((c) => safe(() => c.close()))), 300);
    await bounded(
      safe(() => this.o.hardware.close()),
      200,
    );
    this.log.info('miner.stopped', { ms: this.clock.now() - t0 });
    this.listeners.clear();
  }

  /**
   * Last resort after a crash elsewhere in the process: fans to 100 % first, then the chips idle (best
   * effort, bounded), so a dying daemon never leaves chips hashing without airflow.
   */
  async emergencyStop(reason: string): Promise<void> {
    this.log.error('emergency.stop', { reason });
    this.halted = true;
    this.hashing = false;
    this.supervisor.stop();
    this.clock.clearTimeout(this.supTimer);
    this.o.hardware.onHashing?.(false);
    for (const s of this.schedulers) s.stop();
    const bounded = (p: Promise<unknown>) =>
      Promise.race([p, new Promise((r) => setTimeout(r, 2000).unref())]);
    const fan = this.o.hardware.fan;
    await bounded(fan ? safe(() => fan.setDuty(100)).catch(() => {}) : Promise.resolve());
    await bounded(Promise.allSettled(this.o.hardware.chains.map((c) => safe(() => c.idle()))));
  }

  // ------------------------------------------------------------------------------------------------
  // the hashing gate

  private gateDecision(chainsReady = this.supervisor.usable()) {
    return hashingGate({
      stopped: this.stopped,
      halted: this.halted,
      thermalAllowed: this.thermalAllowed,
      thermalReason:
        this.overheat.active || this.thermalFault ? (this.overheat.reason ?? this.thermalFault) : undefined,
      paused: this.paused,
      poolActive: this.poolActive,
      chainsReady,
    });
  }

  /**
   * Re-evaluates the gate. Closing parks the ready chains at once (the supervisor: idle actions); opening
   * feeds the ready chains the latest job as clean and re-initialises the parked ones, each fed once its
   * init is done. A chain still initialising is never fed.
   */
  private update(): void {
    // Held: closed for a reason other than the chains (a chain finishing its init then is parked).
    this.supervisor.setHeld(!this.gateDecision(true).open);
    const decision = this.gateDecision();
    const want = decision.open;
    if (want === this.hashing) return;
    this.hashing = want;
    this.o.hardware.onHashing?.(want);
    const now = this.clock.now();
    if (!want) {
      this.log.info('mining.idle', { reason: decision.reason });
      this.runSupervisor(this.supervisor.gateClosed(now));
    } else {
      this.runSupervisor(this.supervisor.gateOpened(now));
    }
    this.changed();
  }

  private onNonce(chainIndex: number, n: ChipNonce): void {
    const s = this.schedulers[chainIndex];
    if (!s) return;
    const check = s.handleNonce(n);
    if (check?.kind === 'hw-error' && this.hwErrorsLogged < 20) {
      this.hwErrorsLogged++;
      this.log.warn('nonce.hardware_error', {
        chain: chainIndex,
        chip: n.chipIndex,
        reason: check.reason ?? 'hash above the ticket target',
      });
    }
  }

  private onThermal(d: ThermalDecision): void {
    const now = this.clock.now();
    if (d.kind === 'stop-hashing') {
      this.thermalAllowed = false;
      const at = d.tempC === null ? 'unknown temperature' : `${d.tempC.toFixed(1)} °C`;
      const reason = `${d.reason} at ${at} (limit ${d.limitC} °C)${d.detail ? `: ${d.detail}` : ''}`;
      this.log.error('thermal.stop_hashing', { reason });
      if (d.reason === 'overheat') {
        this.overheat = { active: true, since: now, reason };
        this.emit({
          type: 'overheat',
          time: now,
          active: true,
          sensor: 'chip',
          celsius: d.tempC,
          limit: d.limitC,
        });
      } else {
        this.thermalFault = reason;
        this.fault('sensor', 'critical', `hashing stopped, fans 100 %: ${reason}`);
      }
      this.update();
      return;
    }
    if (d.frequencyMHz !== this.freq.target)
      // Never fire-and-forget: a UART write failure here is a fault to report, not a crash (the thermal
      // protection still trips on temperature if the chips stay at the old clock). The target is set at
      // once, so a resume's re-init below ramps the parked chips straight to the new (reduced) clock.
      this.applyFrequency(d.frequencyMHz, `thermal ${d.kind}: ${d.reason}`).catch((err: unknown) =>
        this.fault(
          'chain',
          'error',
          `frequency ${d.frequencyMHz} MHz not applied: ${(err as Error).message}`,
        ),
      );
    if (d.kind !== 'resume') return;
    this.thermalAllowed = true;
    this.thermalFault = undefined;
    if (this.overheat.active) {
      this.overheat = { active: false };
      this.log.warn('thermal.resume', {
        reason: d.reason,
        frequencyMhz: d.frequencyMHz,
        reducedFromMhz: d.reducedFromMHz,
      });
      const limit = this.o.maxTempC ?? this.o.board.limits.maxTempC;
      this.emit({
        type: 'overheat',
        time: now,
        active: false,
        sensor: 'chip',
        celsius: this.thermal.status().maxC,
        limit,
      });
    }
    this.update();
  }

  /**
   * Sets the chains' clock. The target changes at once (a chain initialising or parked ramps to it at its
   * init); the running chains get it now; the new frequency is recorded only once every running chain
   * took it. A chain refusing it (UART write failure) → the target goes back and the promise rejects.
   */
  private async applyFrequency(mhz: number, why: string): Promise<number> {
    const { mhz: f, before } = this.freq.request(mhz);
    const chains = this.o.hardware.chains;
    const running = chains.flatMap((_, i) => (this.supervisor.phase(i) === 'ready' ? [i] : []));
    const results = await Promise.allSettled(
      running.map((i) =>
        safe(() => chains[i]!.setFrequency(f)).then(() => {
          this.freq.took(i, f);
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      this.freq.refused(f, before);
      throw new Error(`setting ${f} MHz failed: ${errorMessage(failed.reason)}`);
    }
    this.settleFrequency(why);
    return f;
  }

  /** Brings one running chain to the target clock (a fault if it refuses). */
  private retune(i: number): void {
    const chain = this.o.hardware.chains[i];
    const f = this.freq.target;
    if (!chain) return;
    void safe(() => chain.setFrequency(f))
      .then(() => {
        this.freq.took(i, f);
        this.settleFrequency('retune');
      })
      .catch((err: unknown) =>
        this.fault(
          `chain${i}`,
          'error',
          `${chain.name}: frequency ${f} MHz not applied: ${errorMessage(err)}`,
        ),
      );
  }

  /** Records the target as the board's frequency once every running chain took it. */
  private settleFrequency(why: string): void {
    const running = this.o.hardware.chains.map((_, i) => this.supervisor.phase(i) === 'ready');
    const f = this.freq.settle(running);
    if (f === undefined) return;
    this.o.hardware.onFrequency?.(f);
    this.thermal.setFrequency(f);
    this.log.info('frequency.set', { mhz: f, why });
    this.changed();
  }

  // ------------------------------------------------------------------------------------------------
  // MinerSource

  onEvent(listener: Listener): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: MinerEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn('listener.failed', { event: e.type, error: (err as Error).message });
      }
    }
  }

  private changed(): void {
    this.emit({ type: 'state_changed', time: this.clock.now() });
  }

  private fault(component: string, severity: 'warning' | 'error' | 'critical', message: string): void {
    this.log.warn('fault', { component, severity, message });
    this.emit({ type: 'fault', time: this.clock.now(), component, severity, message });
  }

  get miningState(): MiningState {
    return miningState({
      overheat: this.overheat,
      paused: this.paused,
      gateOpen: this.hashing,
      chainsHashing: this.supervisor.hashing(),
    });
  }

  /** The parts the state is projected from: plain numbers read now from the schedulers, ledgers, pools… */
  stateParts(): StateParts {
    const hw = this.o.hardware;
    return {
      now: this.clock.now(),
      startedAt: this.startedAt,
      device: { id: this.o.deviceId, name: this.o.name ?? this.o.board.name, version: VERSION },
      board: { id: this.o.board.id, name: this.o.board.name },
      gateOpen: this.hashing,
      chainsHashing: this.supervisor.hashing(),
      paused: this.paused,
      overheat: this.overheat,
      frequencyMhz: this.freq.recorded,
      expectedGhs: this.hashing ? hw.expectedGhs(this.freq.recorded) : 0,
      fanMode: this.fanMode,
      limits: this.limits,
      pools: this.pools.getStatus(),
      poolLedgers: this.ledgers.map((l) => l.counts()),
      unattributed: this.unattributed.counts(),
      lastAcceptedAt: this.shares.lastAcceptedAt(),
      chains: this.schedulers.map((s, i) => {
        const chain = hw.chains[i]!;
        const m1 = s.hashrate(60_000);
        return {
          chipModel: chain.model.model,
          rate: {
            w10s: s.hashrate(10_000).total,
            w1m: m1.total,
            w5m: s.hashrate(300_000).total,
            w10m: s.hashrate(600_000).total,
            w15m: s.hashrate(900_000).total,
            w1h: s.hashrate(3_600_000).total,
            sinceStart: s.averageHashrate(),
          },
          chipRates1m: m1.chips,
          chipErrors: s.chips.map((c) => c.hardwareErrors),
          hardwareErrors: s.counters.hardwareErrors,
          counterHashrate: chain.counterHashrateGhs?.(),
          unmatched: { ...s.unmatched },
          link: chain.linkHealth?.(),
          ledger: this.chainLedgers[i]?.counts(),
        };
      }),
      thermal: this.thermal.status(),
      sensorLimits: hw.sensors.map((x) => x.limitC),
      power: powerInfo(
        hw.power,
        this.schedulers.reduce((x, s) => x + s.hashrate(60_000).total, 0),
      ),
    };
  }

  getState(): MinerState {
    return projectState(this.stateParts());
  }

  /** Prints a status line every `ms` through `print` (the CLI's live status). */
  startStatus(ms: number, print: (s: MinerState) => void): void {
    this.clock.clearInterval(this.statusTimer);
    this.statusTimer = this.clock.setInterval(() => print(this.getState()), ms);
  }

  // ------------------------------------------------------------------------------------------------
  // control

  /** What the control (control.ts) carries its checked commands out through. */
  private controlHost(): ControlHost {
    const power = this.o.hardware.power;
    return {
      limits: this.limits,
      overheatLimitC: this.o.maxTempC ?? this.o.board.limits.maxTempC,
      resumeState: () => ({ overheat: this.overheat, thermalFault: this.thermalFault }),
      setPaused: (paused) => {
        this.paused = paused;
        this.update();
      },
      setFan: (s) => {
        this.fanMode = s.mode;
        this.thermal.setManualFan(s.mode === 'auto' ? undefined : s.percent);
      },
      applyFrequency: (mhz, why) => this.applyFrequency(mhz, why),
      poolCount: () => this.o.pools.length,
      switchPool: (index) => this.pools.switchTo(index),
      setPools: async (next) => {
        await this.pools.setPools(next);
        // Ledgers follow their pool (same URL and user); a new pool starts at zero; a dropped pool's
        // ledger stays after the list so the board's totals never go down.
        this.shares.repool(this.o.pools, next);
        this.o.pools = next;
      },
      firstPool: () => this.o.pools[0],
      setTargetTemp: (c) => {
        this.thermal.setTarget(c);
        this.log.info('thermal.target', { celsius: c });
      },
      ...(power ? { power } : {}),
      retryChains: () => this.runSupervisor(this.supervisor.retryNow(this.clock.now())),
      restartChains: async () => {
        const wasPaused = this.paused;
        this.paused = true;
        this.update();
        await Promise.allSettled(this.o.hardware.chains.map((c) => safe(() => c.idle())));
        if (this.stopped) return;
        this.runSupervisor(this.supervisor.reinitAll(this.clock.now()));
        await this.initsSettled();
        if (this.stopped) return;
        this.paused = wasPaused;
        this.update();
      },
      changed: () => this.changed(),
    };
  }
}

/** Waits for `p` at most `ms` (real time: a stop must end even when a clock or a device hangs). */
function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => {},
      () => {},
    ),
    new Promise<void>((r) => {
      t = setTimeout(r, ms);
      t.unref?.();
    }),
  ]).finally(() => clearTimeout(t));
}

export type { ChipNonce } from './scheduler.ts';
