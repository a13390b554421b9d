/**
 * The persistent list of blocks the gateway found: one JSON document (an array, newest last), written
 * to a temporary file and renamed over the old one so a crash never leaves half a list.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface FoundBlock {
  /** ISO time the share arrived. */
  at: string;
  height: number;
  hash: string;
  worker: string;
  /** Satoshis paid to the payout script. */
  reward: number;
  /** submitblock's answer: "accepted" (null from the node) or the node's reason ("duplicate", "inconclusive", "high-hash" …) or the RPC error. */
  result: string;
  /** P2P peers the block was also relayed to. */
  relayedTo: number;
}

export class FoundBlocks {
  private readonly items: FoundBlock[] = [];
  readonly file: string | undefined;
  constructor(file?: string) {
    this.file = file;
    if (!file) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new Error(`found-blocks file ${file}: ${(e as Error).message}`);
    }
    const doc = JSON.parse(text) as unknown;
    if (!Array.isArray(doc)) throw new Error(`found-blocks file ${file}: expected a JSON array`);
    this.items.push(...(doc as FoundBlock[]));
  }
  list(): readonly FoundBlock[] {
    return this.items;
  }
  add(b: FoundBlock): void {
    this.items.push(b);
    this.save();
  }
  /** Replaces the result of the last entry with this hash (the node's answer arrives after the record). */
  update(hash: string, patch: Partial<FoundBlock>): void {
    const b = this.items.findLast((x) => x.hash === hash);
    if (!b) return;
    Object.assign(b, patch);
    this.save();
  }
  private save(): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(this.items, null, 1)}\n`);
    renameSync(tmp, this.file);
  }
}
