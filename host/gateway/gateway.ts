/**
 * `asicd gateway`: node ↔ gateway ↔ miners.
 *
 *   Bitcoin node ──RPC getblocktemplate/submitblock──┐
 *        └──────P2P headers/cmpctblock/inv──────────┤ Gateway ── Stratum V1 (LAN) ── miners
 *
 * New work comes from getblocktemplate (segwit rule). The gateway learns of a new block, fastest first,
 * from its P2P peer (an announcement → a template fetch at once → clean jobs), from getblocktemplate
 * long-polling, and from polling (`pollMs`); every `refreshMs` (30 s) it refreshes the template for new
 * transactions without clean_jobs. A share that meets the network target is rebuilt into the full block,
 * sent with submitblock and relayed to the P2P peer; the answer is logged, emitted and kept in the
 * found-blocks list. Node errors (down, restarting, warming up, bad answers) are logged and retried;
 * miners keep the last job meanwhile.
 */
import { EventEmitter } from 'node:events';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { type Network, networkOfChain, payoutScript } from '../bitcoin/address.ts';
import { unhex } from '../bitcoin/bytes.ts';
import { MAGIC } from '../p2p/codec.ts';
import { type AnnounceSource, NodePeer } from '../p2p/peer.ts';
import { type FoundBlock, FoundBlocks } from './found-blocks.ts';
import { NodeRpc, NodeRpcError, type NodeRpcOptions } from './rpc.ts';
import { type BlockCandidate, GatewayServer, type GatewayServerOptions } from './server.ts';
import {
  assembleBlock,
  type BlockTemplate,
  type GatewayJob,
  jobFromTemplate,
  parseTemplate,
} from './template.ts';
import { ZmqBlockSubscriber } from './zmq.ts';

export interface GatewayOptions {
  rpc: NodeRpcOptions;
  payout: string;
  tag?: string;
  listenHost?: string;
  listenPort?: number;
  /** host:port of a P2P peer (usually the same node); omitted = no P2P. */
  p2p?: string;
  /** The node's zmqpubhashblock endpoint, tcp://host:port (a fallback beside P2P); omitted = no ZMQ. */
  zmq?: string;
  /** Use getblocktemplate long-polling (default true). */
  longpoll?: boolean;
  /** Poll getblocktemplate for a new tip this often (default 1000 ms; 0 = off). */
  pollMs?: number;
  /** Refresh the template (new transactions, no clean_jobs) this often (default 30 000 ms). */
  refreshMs?: number;
  foundBlocksFile?: string;
  server?: GatewayServerOptions;
  clock?: Clock;
  logger?: Logger;
}

export interface SubmitOutcome {
  hash: string;
  height: number;
  result: string;
  accepted: boolean;
}

export class Gateway extends EventEmitter<{
  job: [{ jobId: string; clean: boolean; height: number; source: string }];
  submitted: [SubmitOutcome];
  nodeError: [string];
}> {
  readonly rpc: NodeRpc;
  readonly server: GatewayServer;
  readonly found: FoundBlocks;
  peer: NodePeer | undefined;
  zmq: ZmqBlockSubscriber | undefined;
  network: Network | undefined;
  private readonly o: GatewayOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private script: Uint8Array | undefined;
  private template: BlockTemplate | undefined;
  private stopped = false;
  private pollTimer: TimerHandle | undefined;
  private refreshTimer: TimerHandle | undefined;
  private fetching: Promise<void> | undefined;
  private again: string | undefined;
  private longpollAbort = false;
  readonly counters = {
    templates: 0,
    cleanJobs: 0,
    rpcErrors: 0,
    announcements: 0,
    blocksSubmitted: 0,
    blocksAccepted: 0,
  };

  constructor(o: GatewayOptions) {
    super();
    this.o = o;
    this.clock = o.clock ?? systemClock;
    this.log = (o.logger ?? silentLogger).child('gateway');
    this.rpc = new NodeRpc(o.rpc);
    this.server = new GatewayServer({
      ...o.server,
      ...(o.listenHost ? { host: o.listenHost } : {}),
      clock: this.clock,
      logger: o.logger ?? silentLogger,
    });
    this.found = new FoundBlocks(o.foundBlocksFile);
    this.server.on('share', (e) => {
      if (e.accepted) this.log.debug('share.accepted', { ...e });
      else
        this.log.debug('share.rejected', {
          conn: e.conn,
          worker: e.worker,
          jobId: e.jobId,
          code: e.code,
          message: e.message,
        });
    });
    this.server.on('block', (b) => {
      void this.submit(b);
    });
  }

  get currentTemplate(): BlockTemplate | undefined {
    return this.template;
  }

  /** Checks the node and the payout address, fetches the first template, listens, starts P2P/polling. */
  async start(): Promise<number> {
    const info = await this.rpc.call<{ chain: string; blocks: number; initialblockdownload?: boolean }>(
      'getblockchaininfo',
    );
    this.network = networkOfChain(String(info?.chain));
    this.script = payoutScript(this.o.payout, this.network).scriptPubKey;
    this.log.info('node', { url: this.rpc.printable, chain: info.chain, blocks: info.blocks });
    await this.refresh('start');
    if (!this.template) throw new Error('no block template from the node (see the log)');
    const port = await this.server.listen(this.o.listenPort ?? 3333);
    if (this.o.p2p) this.startPeer(this.o.p2p);
    if (this.o.zmq) {
      const zmq = new ZmqBlockSubscriber({
        endpoint: this.o.zmq,
        clock: this.clock,
        logger: this.o.logger ?? silentLogger,
      });
      zmq.on('hashblock', (h) => this.onAnnounce('zmq', h.hash));
      zmq.start();
      this.zmq = zmq;
    }
    if ((this.o.pollMs ?? 1000) > 0)
      this.pollTimer = this.clock.setInterval(() => void this.poll(), this.o.pollMs ?? 1000);
    this.refreshTimer = this.clock.setInterval(
      () => void this.refresh('refresh'),
      this.o.refreshMs ?? 30_000,
    );
    if (this.o.longpoll !== false) void this.longpollLoop();
    return port;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.longpollAbort = true;
    this.clock.clearInterval(this.pollTimer);
    this.clock.clearInterval(this.refreshTimer);
    this.peer?.stop();
    this.zmq?.stop();
    this.rpc.close();
    await this.server.close();
    await this.fetching?.catch(() => {});
  }

  /** Starts the P2P peer (when not given in the options, e.g. a default chosen after start()). */
  connectPeer(spec: string): void {
    if (this.peer) return;
    this.startPeer(spec);
  }

  private startPeer(spec: string): void {
    const m = /^(.*):(\d+)$/.exec(spec);
    if (!m || !this.network) throw new Error(`--p2p: expected HOST:PORT, got "${spec}"`);
    const peer = new NodePeer({
      host: m[1]!.replace(/^\[|\]$/g, ''),
      port: Number(m[2]),
      magic: MAGIC[this.network],
      startHeight: () => (this.template ? this.template.height - 1 : 0),
      tip: () => this.template?.previousblockhash,
      clock: this.clock,
      logger: this.o.logger ?? silentLogger,
    });
    peer.on('announce', (a) => this.onAnnounce(a.source, a.hash));
    peer.start();
    this.peer = peer;
  }

  private onAnnounce(source: AnnounceSource | 'zmq', hash: string): void {
    this.counters.announcements++;
    if (this.template && hash === this.template.previousblockhash) return; // our own tip, already served
    this.log.info('block_announced', { source, hash });
    void this.refresh(source === 'zmq' ? 'zmq' : `p2p-${source}`, hash);
  }

  private async poll(): Promise<void> {
    if (this.fetching || this.stopped) return;
    try {
      const best = await this.rpc.call<string>('getbestblockhash');
      if (this.template && best !== this.template.previousblockhash) await this.refresh('poll', best);
    } catch (e) {
      this.nodeError(e);
    }
  }

  private async longpollLoop(): Promise<void> {
    while (!this.stopped && !this.longpollAbort) {
      const id = this.template?.longpollid;
      if (!id) {
        await this.clock.sleep(1000);
        continue;
      }
      try {
        const r = await this.rpc.call('getblocktemplate', [{ rules: ['segwit'], longpollid: id }], 120_000);
        if (this.stopped) return;
        const t = parseTemplate(r);
        if (t.longpollid === id) continue;
        if (this.template && t.previousblockhash !== this.template.previousblockhash)
          await this.refresh('longpoll', t.previousblockhash);
        else if (this.template && t.longpollid)
          this.template = { ...this.template, longpollid: t.longpollid };
      } catch (e) {
        if (this.stopped) return;
        if (!(e instanceof NodeRpcError && e.kind === 'timeout')) {
          this.nodeError(e);
          await this.clock.sleep(2000);
        }
      }
    }
  }

  private nodeError(e: unknown): void {
    this.counters.rpcErrors++;
    const msg = (e as Error).message;
    this.log.warn('node_error', { error: msg });
    this.emit('nodeError', msg);
  }

  /**
   * Fetches a template and serves it. `expectTip` (a block announced by P2P or seen by polling): if the
   * node's template still builds on the old tip (Core announces compact blocks before it has connected
   * them), retry briefly until it moves.
   */
  refresh(source: string, expectTip?: string): Promise<void> {
    if (this.fetching) {
      // One fetch at a time; remember the most urgent reason and run once more after it.
      if (expectTip || !this.again) this.again = source;
      return this.fetching;
    }
    this.fetching = this.fetchAndServe(source, expectTip).finally(() => {
      this.fetching = undefined;
      const again = this.again;
      this.again = undefined;
      if (again && !this.stopped) void this.refresh(again);
    });
    return this.fetching;
  }

  private async fetchAndServe(source: string, expectTip?: string): Promise<void> {
    let delay = 5;
    for (let attempt = 0; attempt < 12 && !this.stopped; attempt++) {
      let t: BlockTemplate;
      try {
        t = parseTemplate(await this.rpc.call('getblocktemplate', [{ rules: ['segwit'] }]));
      } catch (e) {
        this.nodeError(e);
        return;
      }
      const old = this.template;
      const stillOld =
        expectTip !== undefined &&
        old &&
        t.previousblockhash === old.previousblockhash &&
        expectTip !== old.previousblockhash;
      if (stillOld && attempt < 11) {
        await this.clock.sleep(delay);
        delay = Math.min(delay * 2, 250);
        continue;
      }
      this.serve(t, source);
      return;
    }
  }

  private serve(t: BlockTemplate, source: string): void {
    if (!this.script) return;
    let job: GatewayJob;
    try {
      job = jobFromTemplate(t, {
        payoutScript: this.script,
        tag: this.o.tag ?? '/asicd/',
        extranonce1Size: this.server.extranonce1Size,
        extranonce2Size: this.server.extranonce2Size,
      });
    } catch (e) {
      this.nodeError(e);
      return;
    }
    const clean = !this.template || this.template.previousblockhash !== t.previousblockhash;
    this.template = t;
    this.counters.templates++;
    if (clean) this.counters.cleanJobs++;
    const jobId = this.server.setJob(job, clean);
    this.log.info('job', {
      jobId,
      height: t.height,
      clean,
      txs: t.transactions.length,
      source,
      miners: this.server.notifiedCount,
      prev: t.previousblockhash,
    });
    this.emit('job', { jobId, clean, height: t.height, source });
  }

  private async submit(b: BlockCandidate): Promise<void> {
    let raw: string;
    try {
      raw = assembleBlock(b.job, b.share, b.merkleRoot).hex;
    } catch (e) {
      this.log.error('block_assembly_failed', { hash: b.hash, error: (e as Error).message });
      return;
    }
    const record: FoundBlock = {
      at: new Date().toISOString(),
      height: b.job.height,
      hash: b.hash,
      worker: b.worker,
      reward: b.job.coinbaseValue,
      result: 'pending',
      relayedTo: 0,
    };
    this.found.add(record);
    this.counters.blocksSubmitted++;
    // P2P first (it is the faster path to the network), then the RPC answer we record.
    const relayed = this.peer?.relayBlock(unhex(raw)) ? 1 : 0;
    let result: string;
    try {
      const r = await this.rpc.call<string | null>('submitblock', [raw]);
      result = r === null ? 'accepted' : String(r);
    } catch (e) {
      result = `error: ${(e as Error).message}`;
      this.nodeError(e);
    }
    const accepted = result === 'accepted' || result === 'duplicate';
    if (result === 'accepted') this.counters.blocksAccepted++;
    this.found.update(b.hash, { result, relayedTo: relayed });
    this.log[accepted ? 'info' : 'warn']('block_submitted', {
      hash: b.hash,
      height: b.job.height,
      worker: b.worker,
      result,
      relayedTo: relayed,
    });
    this.emit('submitted', { hash: b.hash, height: b.job.height, result, accepted });
    void this.refresh('block-found', b.hash);
  }
}
