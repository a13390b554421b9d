/** Readers for the public vector files copied verbatim into test/fixtures/vectors/ (see SOURCES.md). */
import { readFileSync } from 'node:fs';

const read = (p: string) => readFileSync(new URL(`../fixtures/vectors/${p}`, import.meta.url), 'utf8');

export interface BitcoinjsBlock {
  description: string;
  hex: string;
  id: string;
  merkleRoot: string;
  height?: string | number;
  witnessCommit?: string;
}

/** A block of bitcoinjs-lib's test/fixtures/block.json by its description (e.g. "Genesis Block"). */
export function bitcoinjsBlock(description: string): BitcoinjsBlock {
  const b = (JSON.parse(read('bitcoinjs/block.json')) as { valid: BitcoinjsBlock[] }).valid.find(
    (x) => x.description === description,
  );
  if (!b) throw new Error(`no "${description}" in bitcoinjs/block.json`);
  return b;
}

/** A captured P2P frame of p2p-captures.json by id. */
export function p2pCapture(id: string): { frame: string; expect: Record<string, unknown> } {
  const v = (
    JSON.parse(read('p2p-captures.json')) as {
      vectors: Array<{ id: string; frame: string; expect: Record<string, unknown> }>;
    }
  ).vectors.find((x) => x.id === id);
  if (!v) throw new Error(`no ${id} in p2p-captures.json`);
  return v;
}
