/**
 * Failover and per-pool accounting for ethash pools: the Bitcoin PoolManager (host/stratum/pool-manager.ts)
 * driving one EthStratumClient per pool, so both Ethereum Stratum dialects get the same rules — healthy
 * after hello/subscribe/authorize/first notify within readyTimeoutMs, silence → next pool at once, other
 * failures retried with backoff + jitter, the preferred pool probed while on a fallback, all down → 'idle'
 * and resume by itself, shares only on the connection that issued their job.
 *
 *   const pm = createEthPoolManager({ pools: [{ url: 'stratum3+tcp://a:4444', user }, { url, user }] });
 *   pm.on('job', (j: EthPoolJob) => ...)     // EthClientJob + poolIndex/poolUrl; poolToken to echo
 *   pm.on('idle' | 'active' | 'switched' | 'difficulty' | 'shareResult', ...)
 *   pm.start();
 *   const outcome = await pm.submit({ poolToken: j.poolToken, jobId: j.jobId, nonce, difficulty });
 *   pm.getStatus(); pm.switchTo(1); await pm.stop();
 *
 * Each pool's URL scheme picks its dialect (stratum2 → 1.0.0, stratum3 → 2.0.0, plain → auto-detect).
 * A 5xx answer to a submit (EIP-1571: "switch to a failover pool") ends the session as 'server-error',
 * which the manager counts as a failure of that pool.
 */
import {
  type ManagedClientCommon,
  type ManagedEventsMismatch,
  type ManagedPoolJob,
  managedSessionOptions,
  PoolManager,
  type PoolManagerOptions,
} from '../stratum/pool-manager.ts';
import {
  type EthClientEvents,
  type EthClientJob,
  type EthShareSubmission,
  EthStratumClient,
} from './client.ts';

export interface EthPoolConfig {
  /** stratum2+tcp (1.0.0), stratum3+tcp (2.0.0), stratum+tcp (auto); +ssl / +tls for TLS. */
  url: string;
  user: string;
  password?: string;
  /** Epoch rule of this pool's coin (default: the manager's `algo`, else 'ethash'). */
  algo?: 'ethash' | 'etchash';
  ecip1099Block?: number;
  /** 1.0.0: mining.extranonce.subscribe after authorize (default true). */
  extranonceSubscribe?: boolean;
  /** Follow a reconnect request to another host. */
  allowRedirect?: boolean;
}

export type EthPoolJob = ManagedPoolJob<EthClientJob>;
export type EthPoolManager = PoolManager<EthClientJob, EthShareSubmission, EthPoolConfig>;

export interface EthPoolManagerOptions
  extends Omit<
    PoolManagerOptions<EthClientJob, EthShareSubmission, EthPoolConfig>,
    'createClient' | 'versionRollingMask'
  > {
  /** Default epoch rule for pools that do not set one. */
  algo?: 'ethash' | 'etchash';
  /** Auto-detection: no mining.hello answer within this → 1.0.0 (default 5 s). */
  helloTimeoutMs?: number;
  /** Bad messages on one connection before it is dropped (default 100). */
  badInputLimit?: number;
}

/** The client of one ethash pool, with the manager's shared settings. */
export function createEthManagedClient(
  p: EthPoolConfig,
  c: ManagedClientCommon,
  extra: Pick<EthPoolManagerOptions, 'algo' | 'helloTimeoutMs' | 'badInputLimit'> = {},
): EthStratumClient {
  const algo = p.algo ?? extra.algo;
  return new EthStratumClient({
    url: p.url,
    user: p.user,
    password: p.password ?? '',
    ...managedSessionOptions(c),
    ...(algo !== undefined ? { algo } : {}),
    ...(p.ecip1099Block !== undefined ? { ecip1099Block: p.ecip1099Block } : {}),
    ...(p.extranonceSubscribe !== undefined ? { extranonceSubscribe: p.extranonceSubscribe } : {}),
    ...(p.allowRedirect ? { allowRedirect: true } : {}),
    ...(extra.helloTimeoutMs !== undefined ? { helloTimeoutMs: extra.helloTimeoutMs } : {}),
    ...(extra.badInputLimit !== undefined ? { badInputLimit: extra.badInputLimit } : {}),
  });
}

/** A PoolManager of EthStratumClients (one per pool, dialect per URL). */
export function createEthPoolManager(opts: EthPoolManagerOptions): EthPoolManager {
  for (const [i, p] of opts.pools.entries()) {
    if (typeof p?.url !== 'string' || typeof p.user !== 'string')
      throw new Error(`pools[${i}]: url and user must be strings`);
  }
  const { algo, helloTimeoutMs, badInputLimit, ...common } = opts;
  const extra = {
    ...(algo !== undefined ? { algo } : {}),
    ...(helloTimeoutMs !== undefined ? { helloTimeoutMs } : {}),
    ...(badInputLimit !== undefined ? { badInputLimit } : {}),
  };
  return new PoolManager<EthClientJob, EthShareSubmission, EthPoolConfig>({
    ...common,
    createClient: (p, _i, c) => createEthManagedClient(p, c, extra),
  });
}

// Compile-time check that EthStratumClient's events fit what the manager listens to.
const ethEventsFit: [ManagedEventsMismatch<EthClientEvents, EthClientJob, EthShareSubmission>] extends [never]
  ? true
  : false = true;
void ethEventsFit;
