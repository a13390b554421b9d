/**
 * A stand-in Bitcoin node for the gateway tests — no internet, no bitcoind. It keeps a chain of its
 * own (regtest magic and, by default, regtest difficulty) and speaks:
 *
 * - JSON-RPC over HTTP (Basic auth: user/password or a cookie file it writes like Core does) with
 *   Core's shapes: getblockchaininfo, getbestblockhash, getblockcount, getblocktemplate (segwit rule
 *   required, Core's error -8 otherwise; longpollid honoured), submitblock (null, "duplicate",
 *   "inconclusive", or Core's rejection strings: high-hash, bad-txnmrklroot, bad-cb-height,
 *   bad-cb-amount, bad-witness-merkle-match, bad-witness-nonce-size, prev-blk-not-found; -22
 *   "Block decode failed"). Unknown methods: -32601 "Method not found".
 * - A minimal P2P peer: version/verack, ping/pong, sendheaders, sendcmpct; it announces each new tip
 *   by `headers` (to peers that sent sendheaders), by `cmpctblock` (to peers that asked for
 *   high-bandwidth mode) or by `inv`; it accepts relayed `block` messages like submitblock.
 * - Control for tests: mineExternal() (a block found elsewhere), addTx(), restart(), rpcFailures,
 *   sendRawP2P().
 * Submitted blocks are checked with test-side code that re-derives every rule from the block bytes.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import {
  createServer as createHttp,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createTcp, type Socket, type Server as TcpServer } from 'node:net';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  type Block,
  type BlockHeader,
  bip34Height,
  findWitnessCommitment,
  headerHash,
  merkleRootOf,
  parseBlock,
  readBip34Height,
  serializeTx,
  type Tx,
  txid,
  witnessCommitment,
  witnessCommitmentScript,
  wtxid,
} from '../../host/bitcoin/block.ts';
import { hashToDisplay, hex } from '../../host/bitcoin/bytes.ts';
import {
  compactBlockOf,
  decodeMessage,
  encodeBlock,
  encodeCmpctBlock,
  encodeFrame,
  encodeHeaders,
  encodeInv,
  encodePing,
  encodeVersion,
  FrameDecoder,
  INV,
  ipv4Addr,
  MAGIC,
} from '../../host/p2p/codec.ts';
import { nbitsToTarget } from '../../host/work/target.ts';

export interface StandinOptions {
  /** nbits of every block (default 207fffff, regtest). */
  bits?: number;
  user?: string;
  password?: string;
  /** Write a Core-style cookie file here and accept it (instead of user/password). */
  cookieFile?: string;
  /** Blocks to pre-mine (default 100). */
  height?: number;
  p2p?: boolean;
}

interface PeerConn {
  socket: Socket;
  sendheaders: boolean;
  hbCompact: boolean;
  ready: boolean;
}

const HALVING = 150; // regtest

export class StandinNode {
  readonly o: StandinOptions;
  readonly bits: number;
  readonly target: bigint;
  chain: Block[] = [];
  readonly mempool: Tx[] = [];
  /** Every submitblock / relayed block with the answer it got. */
  readonly submissions: Array<{ via: 'rpc' | 'p2p'; hash: string; result: string | null }> = [];
  readonly rpcCalls: string[] = [];
  /** Next N RPC calls fail with this error (then succeed again). */
  rpcFailures: { count: number; code: number; message: string } | undefined;
  /** When true the RPC server answers 500 with a non-JSON body. */
  garbageRpc = false;
  private http: HttpServer | undefined;
  private tcp: TcpServer | undefined;
  private readonly peers = new Set<PeerConn>();
  private longpolls: Array<() => void> = [];
  private cookie = '';
  rpcPort = 0;
  p2pPort = 0;

  constructor(o: StandinOptions = {}) {
    this.o = o;
    this.bits = o.bits ?? 0x207fffff;
    this.target = nbitsToTarget(this.bits).target;
    this.chain.push(this.makeBlock(new Uint8Array(32), 0, []));
    for (let i = 0; i < (o.height ?? 100); i++)
      this.chain.push(this.makeBlock(headerHash(this.tip.header), this.chain.length, []));
  }

  get tip(): Block {
    return this.chain[this.chain.length - 1]!;
  }
  get height(): number {
    return this.chain.length - 1;
  }
  get tipHash(): string {
    return hashToDisplay(headerHash(this.tip.header));
  }
  get rpcUrl(): string {
    return `http://127.0.0.1:${this.rpcPort}`;
  }
  get peerCount(): number {
    return [...this.peers].filter((p) => p.ready).length;
  }

  static subsidy(height: number): number {
    const halvings = Math.floor(height / HALVING);
    return halvings >= 64 ? 0 : Math.floor(5_000_000_000 / 2 ** halvings);
  }

  async start(): Promise<void> {
    this.http = createHttp((req, res) => this.onHttp(req, res));
    this.rpcPort = await listen(this.http, this.rpcPort);
    this.writeCookie();
    if (this.o.p2p !== false) {
      this.tcp = createTcp((s) => this.onPeer(s));
      this.p2pPort = await listen(this.tcp, this.p2pPort);
    }
  }

  async stop(): Promise<void> {
    for (const f of this.longpolls.splice(0)) f();
    for (const p of this.peers) p.socket.destroy();
    this.peers.clear();
    const close = (s: HttpServer | TcpServer | undefined) =>
      new Promise<void>((r) => (s ? s.close(() => r()) : r()));
    this.http?.closeAllConnections();
    await Promise.all([close(this.http), close(this.tcp)]);
    this.http = undefined;
    this.tcp = undefined;
  }

  /** Stops and starts again on the same ports (a node restart: new cookie, P2P peers dropped). */
  async restart(downMs = 200): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  private writeCookie(): void {
    if (!this.o.cookieFile) return;
    this.cookie = `__cookie__:${randomBytes(32).toString('hex')}`;
    writeFileSync(this.o.cookieFile, this.cookie);
  }

  // ----------------------------------------------------------------------------------------------
  // Chain

  /** A transaction spending a made-up outpoint, with a witness (so the commitment matters). */
  addTx(seed = randomBytes(4).readUInt32LE(0)): Tx {
    const tx: Tx = {
      version: 2,
      inputs: [
        {
          prevTxid: sha256(Uint8Array.of(seed & 0xff, (seed >> 8) & 0xff, (seed >> 16) & 0xff, seed >>> 24)),
          prevIndex: 0,
          scriptSig: new Uint8Array(0),
          sequence: 0xfffffffd,
          witness: [randomBytes(71), randomBytes(33)],
        },
      ],
      outputs: [{ value: 10_000n, scriptPubKey: Uint8Array.of(0x00, 0x14, ...randomBytes(20)) }],
      locktime: 0,
    };
    this.mempool.push(tx);
    return tx;
  }

  private makeBlock(prev: Uint8Array, height: number, txs: Tx[]): Block {
    const fee = BigInt(txs.length * 1000);
    const coinbase: Tx = {
      version: 2,
      inputs: [
        {
          prevTxid: new Uint8Array(32),
          prevIndex: 0xffffffff,
          scriptSig: Uint8Array.from([...bip34Height(height), 0x04, ...randomBytes(4)]),
          sequence: 0xffffffff,
          witness: [new Uint8Array(32)],
        },
      ],
      outputs: [
        { value: BigInt(StandinNode.subsidy(height)) + fee, scriptPubKey: Uint8Array.of(0x51) },
        { value: 0n, scriptPubKey: witnessCommitmentScript(witnessCommitment(txs.map(wtxid))) },
      ],
      locktime: 0,
    };
    const all = [coinbase, ...txs];
    const header: BlockHeader = {
      version: 0x20000000,
      prevHash: prev,
      merkleRoot: merkleRootOf(all.map(txid)),
      time: 1_700_000_000 + height * 600,
      bits: this.bits,
      nonce: 0,
    };
    // Grind a valid nonce when that is cheap (regtest bits); harder test chains keep nonce 0 (the
    // gateway never checks the PoW of the node's own blocks).
    if (this.target > 1n << 250n)
      while (BigInt(`0x${hashToDisplay(headerHash(header))}`) > this.target) header.nonce++;
    return { header, txs: all };
  }

  /** A block found by someone else: the tip moves, peers are told, long-polls return. */
  mineExternal(): Block {
    const b = this.makeBlock(headerHash(this.tip.header), this.chain.length, this.mempool.splice(0));
    this.connect(b);
    return b;
  }

  private connect(b: Block): void {
    this.chain.push(b);
    for (const f of this.longpolls.splice(0)) f();
    this.announce(b);
  }

  // ----------------------------------------------------------------------------------------------
  // Block validation (Core's rejection strings)

  /** submitblock's answer for raw block bytes. */
  submit(raw: Uint8Array, via: 'rpc' | 'p2p'): string | null {
    let b: Block;
    try {
      b = parseBlock(raw);
    } catch {
      this.submissions.push({ via, hash: '', result: 'decode-failed' });
      throw Object.assign(new Error('Block decode failed'), { rpcCode: -22 });
    }
    const hash = hashToDisplay(headerHash(b.header));
    const result = this.check(b, hash);
    this.submissions.push({ via, hash, result });
    if (result === null) this.connect(b);
    return result;
  }

  private check(b: Block, hash: string): string | null {
    if (this.chain.some((x) => hashToDisplay(headerHash(x.header)) === hash)) return 'duplicate';
    const prevIndex = this.chain.findIndex((x) => hex(headerHash(x.header)) === hex(b.header.prevHash));
    if (prevIndex < 0) return 'prev-blk-not-found';
    if (BigInt(`0x${hash}`) > nbitsToTarget(b.header.bits).target || b.header.bits !== this.bits)
      return 'high-hash';
    if (b.txs.length === 0) return 'bad-blk-length';
    if (hex(merkleRootOf(b.txs.map(txid))) !== hex(b.header.merkleRoot)) return 'bad-txnmrklroot';
    const cb = b.txs[0]!;
    const height = prevIndex + 1;
    let cbHeight: number;
    try {
      cbHeight = readBip34Height(cb.inputs[0]!.scriptSig);
    } catch {
      return 'bad-cb-height';
    }
    if (cbHeight !== height) return 'bad-cb-height';
    const fees = BigInt((b.txs.length - 1) * 1000);
    const paid = cb.outputs.reduce((s, o) => s + o.value, 0n);
    if (paid > BigInt(StandinNode.subsidy(height)) + fees) return 'bad-cb-amount';
    const ci = findWitnessCommitment(cb);
    if (b.txs.slice(1).some((t) => t.inputs.some((i) => i.witness.length > 0))) {
      if (ci < 0) return 'unexpected-witness';
      const w = cb.inputs[0]!.witness;
      if (w.length !== 1 || w[0]!.length !== 32) return 'bad-witness-nonce-size';
      const want = witnessCommitment(b.txs.slice(1).map(wtxid), w[0]);
      if (hex(cb.outputs[ci]!.scriptPubKey.subarray(6, 38)) !== hex(want)) return 'bad-witness-merkle-match';
    }
    // A valid block on a side branch: Core answers "inconclusive".
    if (prevIndex !== this.height) return 'inconclusive';
    return null;
  }

  // ----------------------------------------------------------------------------------------------
  // RPC

  template(): Record<string, unknown> {
    const height = this.chain.length;
    const txs = this.mempool.map((t) => ({
      data: hex(serializeTx(t)),
      txid: hashToDisplay(txid(t)),
      hash: hashToDisplay(wtxid(t)),
      depends: [],
      fee: 1000,
      sigops: 1,
      weight: serializeTx(t).length * 3,
    }));
    return {
      capabilities: ['proposal'],
      version: 0x20000000,
      rules: ['csv', '!segwit', 'taproot'],
      vbavailable: {},
      vbrequired: 0,
      previousblockhash: this.tipHash,
      transactions: txs,
      coinbaseaux: {},
      coinbasevalue: StandinNode.subsidy(height) + this.mempool.length * 1000,
      longpollid: `${this.tipHash}${this.mempool.length}`,
      target: this.target.toString(16).padStart(64, '0'),
      mintime: this.tip.header.time + 1,
      mutable: ['time', 'transactions', 'prevblock'],
      noncerange: '00000000ffffffff',
      sigoplimit: 80000,
      sizelimit: 4000000,
      weightlimit: 4000000,
      curtime: Math.max(Math.floor(Date.now() / 1000), this.tip.header.time + 1),
      bits: this.bits.toString(16).padStart(8, '0'),
      height,
      default_witness_commitment: hex(witnessCommitmentScript(witnessCommitment(this.mempool.map(wtxid)))),
    };
  }

  private authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    const got = h.startsWith('Basic ') ? Buffer.from(h.slice(6), 'base64').toString() : '';
    if (this.o.cookieFile) return got === this.cookie;
    return got === `${this.o.user ?? 'user'}:${this.o.password ?? 'pass'}`;
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.on('data', (d) => {
      body += String(d);
    });
    req.on('end', () => {
      if (!this.authorized(req)) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="jsonrpc"' }).end();
        return;
      }
      if (this.garbageRpc) {
        res.writeHead(500).end('<html>oops</html>');
        return;
      }
      let msg: { id?: unknown; method?: string; params?: unknown[] };
      try {
        msg = JSON.parse(body);
      } catch {
        this.reply(res, null, null, { code: -32700, message: 'Parse error' }, 500);
        return;
      }
      const id = msg.id ?? null;
      const method = String(msg.method);
      this.rpcCalls.push(method);
      const params = Array.isArray(msg.params) ? msg.params : [];
      if (this.rpcFailures && this.rpcFailures.count > 0) {
        this.rpcFailures.count--;
        this.reply(res, id, null, { code: this.rpcFailures.code, message: this.rpcFailures.message }, 500);
        return;
      }
      void this.dispatch(method, params).then(
        (result) => this.reply(res, id, result, null, 200),
        (e: Error & { rpcCode?: number }) =>
          this.reply(
            res,
            id,
            null,
            { code: e.rpcCode ?? -1, message: e.message },
            e.rpcCode === -32601 ? 404 : 500,
          ),
      );
    });
  }

  private reply(res: ServerResponse, id: unknown, result: unknown, error: unknown, status: number): void {
    if (res.destroyed) return;
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(`${JSON.stringify({ result, error, id })}\n`);
  }

  private async dispatch(method: string, params: unknown[]): Promise<unknown> {
    const err = (code: number, message: string) => Object.assign(new Error(message), { rpcCode: code });
    switch (method) {
      case 'getblockchaininfo':
        return {
          chain: 'regtest',
          blocks: this.height,
          headers: this.height,
          bestblockhash: this.tipHash,
          initialblockdownload: false,
        };
      case 'getbestblockhash':
        return this.tipHash;
      case 'getblockcount':
        return this.height;
      case 'getblocktemplate': {
        const req = (params[0] ?? {}) as { rules?: unknown; longpollid?: unknown };
        if (!Array.isArray(req.rules) || !req.rules.includes('segwit'))
          throw err(
            -8,
            'getblocktemplate must be called with the segwit rule set (call with {"rules": ["segwit"]})',
          );
        if (typeof req.longpollid === 'string' && req.longpollid === this.template().longpollid) {
          await new Promise<void>((resolve) => {
            this.longpolls.push(resolve);
          });
        }
        return this.template();
      }
      case 'submitblock': {
        const raw = params[0];
        if (typeof raw !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(raw))
          throw err(-22, 'Block decode failed');
        return this.submit(Uint8Array.from(Buffer.from(raw, 'hex')), 'rpc');
      }
      default:
        throw err(-32601, 'Method not found');
    }
  }

  // ----------------------------------------------------------------------------------------------
  // P2P

  private onPeer(socket: Socket): void {
    const p: PeerConn = { socket, sendheaders: false, hbCompact: false, ready: false };
    socket.setNoDelay(true);
    this.peers.add(p);
    const dec = new FrameDecoder(MAGIC.regtest);
    const send = (cmd: string, payload?: Uint8Array) => {
      if (!socket.destroyed) socket.write(encodeFrame(MAGIC.regtest, cmd, payload));
    };
    socket.on('error', () => {});
    socket.on('close', () => this.peers.delete(p));
    socket.on('data', (chunk: Buffer) => {
      let frames: ReturnType<FrameDecoder['push']>;
      try {
        frames = dec.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const f of frames) {
        let m: ReturnType<typeof decodeMessage>;
        try {
          m = decodeMessage(f);
        } catch {
          socket.destroy();
          return;
        }
        switch (m.command) {
          case 'version':
            send(
              'version',
              encodeVersion({
                version: 70016,
                services: 9n,
                timestamp: BigInt(Math.floor(Date.now() / 1000)),
                recv: ipv4Addr('127.0.0.1', 0),
                from: ipv4Addr('127.0.0.1', this.p2pPort),
                nonce: 1n,
                userAgent: '/standin:0.1/',
                startHeight: this.height,
                relay: true,
              }),
            );
            send('verack');
            break;
          case 'verack':
            p.ready = true;
            send('ping', encodePing(99n));
            break;
          case 'sendheaders':
            p.sendheaders = true;
            break;
          case 'sendcmpct':
            if (m.msg.version === 2n) p.hbCompact = m.msg.announce;
            break;
          case 'ping':
            send('pong', encodePing(m.nonce));
            break;
          case 'block':
            try {
              this.submit(encodeBlock(m.block), 'p2p');
            } catch {
              /* recorded */
            }
            break;
          default:
            break;
        }
      }
    });
  }

  private announce(b: Block): void {
    for (const p of this.peers) {
      if (!p.ready || p.socket.destroyed) continue;
      if (p.hbCompact)
        p.socket.write(
          encodeFrame(MAGIC.regtest, 'cmpctblock', encodeCmpctBlock(compactBlockOf(b, 7n, wtxid))),
        );
      else if (p.sendheaders)
        p.socket.write(encodeFrame(MAGIC.regtest, 'headers', encodeHeaders([b.header])));
      else
        p.socket.write(
          encodeFrame(MAGIC.regtest, 'inv', encodeInv([{ type: INV.BLOCK, hash: headerHash(b.header) }])),
        );
    }
  }

  /** Writes raw bytes to every P2P peer (malformed-message tests). */
  sendRawP2P(bytes: Uint8Array): void {
    for (const p of this.peers) if (!p.socket.destroyed) p.socket.write(bytes);
  }
  /** Sets how new tips are announced to connected peers (overrides what they asked for). */
  announceBy(mode: 'headers' | 'cmpctblock' | 'inv'): void {
    for (const p of this.peers) {
      p.hbCompact = mode === 'cmpctblock';
      p.sendheaders = mode === 'headers';
    }
  }
}

function listen(s: HttpServer | TcpServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      s.off('error', reject);
      resolve((s.address() as { port: number }).port);
    });
  });
}
