/** Loads the NiceHash EthereumStratum/1.0.0 and EIP-1571 example exchanges (spec-examples.json, with sources). */
import { readFileSync } from 'node:fs';

export interface SpecExamples {
  nicehash_v1: {
    source: string;
    real_world: Record<string, string> & {
      share: { seedhash: string; headerhash: string; nonce: string; difficulty_text: string };
    };
    rfc_examples: Record<string, string>;
  };
  eip1571_v2: Record<string, string>;
}

export const spec = JSON.parse(
  readFileSync(new URL('./spec-examples.json', import.meta.url), 'utf8'),
) as SpecExamples;
export const nh = spec.nicehash_v1.real_world;
export const nhRfc = spec.nicehash_v1.rfc_examples;
export const eip = spec.eip1571_v2;
