import { readFileSync } from 'node:fs';

const dir = new URL('../fixtures/vectors/', import.meta.url);

export type VectorName = 'stratum-v1' | 'bm13xx' | 'ethash' | 'bitcoin' | 'boards';

export interface VectorFile {
  file: string;
  description: string;
  vectors: Array<{ id: string; kind: string; source: string; [key: string]: unknown }>;
}

/** Loads one of the project's own copies of the public vector files. */
export function loadVectors(name: VectorName): VectorFile {
  return JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')) as VectorFile;
}

/** One vector by id; throws if missing so a renamed vector cannot silently skip a test. */
export function vector<T = Record<string, unknown>>(name: VectorName, id: string): T {
  const v = loadVectors(name).vectors.find((x) => x.id === id);
  if (!v) throw new Error(`vector ${id} not found in ${name}.json`);
  return v as unknown as T;
}
