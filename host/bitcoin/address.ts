/**
 * Payout addresses → scriptPubKey, for mainnet, testnet (3 and 4), signet and regtest:
 *
 *   base58check (Satoshi's alphabet, 4-byte dSHA256 checksum): version 0x00 / 0x6f → P2PKH
 *     OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG; version 0x05 / 0xc4 → P2SH OP_HASH160 <20> OP_EQUAL
 *   segwit (BIP 173 bech32 for witness v0, BIP 350 bech32m for v1..16; HRP bc / tb / bcrt):
 *     OP_n <program>  — v0 20 bytes P2WPKH, v0 32 bytes P2WSH, v1 32 bytes P2TR
 *
 * Every failure is an AddressError saying what is wrong (checksum, wrong network, unknown prefix, bad
 * program length, mixed case …), so `--payout` with a typo stops the gateway with a clear message
 * instead of paying a block to nowhere. Sources: BIP 13, BIP 173, BIP 350, Core src/key_io.cpp,
 * src/kernel/chainparams.cpp (base58 prefixes, HRPs).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concat } from './bytes.ts';

export type Network = 'mainnet' | 'testnet' | 'signet' | 'regtest';
export const NETWORKS: readonly Network[] = ['mainnet', 'testnet', 'signet', 'regtest'];

export type AddressType = 'p2pkh' | 'p2sh' | 'p2wpkh' | 'p2wsh' | 'p2tr' | 'witness-unknown';

interface Params {
  p2pkh: number;
  p2sh: number;
  hrp: string;
}
export const NETWORK_PARAMS: Readonly<Record<Network, Params>> = {
  mainnet: { p2pkh: 0x00, p2sh: 0x05, hrp: 'bc' },
  testnet: { p2pkh: 0x6f, p2sh: 0xc4, hrp: 'tb' },
  signet: { p2pkh: 0x6f, p2sh: 0xc4, hrp: 'tb' },
  regtest: { p2pkh: 0x6f, p2sh: 0xc4, hrp: 'bcrt' },
};

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

export interface DecodedAddress {
  type: AddressType;
  /** Networks this address is valid on (testnet and signet share their encodings). */
  networks: Network[];
  scriptPubKey: Uint8Array;
  /** Witness version, for segwit addresses. */
  witnessVersion?: number;
  /** hash160 (base58) or witness program. */
  program: Uint8Array;
}

// ------------------------------------------------------------------------------------------------
// base58check

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const B58_INDEX = new Map([...B58].map((c, i) => [c, i]));

export function base58Encode(b: Uint8Array): string {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  let s = '';
  while (n > 0n) {
    s = B58[Number(n % 58n)] + s;
    n /= 58n;
  }
  for (const x of b) {
    if (x !== 0) break;
    s = `1${s}`;
  }
  return s;
}

export function base58Decode(s: string): Uint8Array {
  let n = 0n;
  for (const c of s) {
    const v = B58_INDEX.get(c);
    if (v === undefined) throw new AddressError(`invalid base58 character "${c}"`);
    n = n * 58n + BigInt(v);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  for (const c of s) {
    if (c !== '1') break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

const checksum4 = (b: Uint8Array) => sha256(sha256(b)).subarray(0, 4);

export function base58checkEncode(version: number, payload: Uint8Array): string {
  const body = concat(Uint8Array.of(version), payload);
  return base58Encode(concat(body, checksum4(body)));
}

export function base58checkDecode(s: string): { version: number; payload: Uint8Array } {
  const raw = base58Decode(s);
  if (raw.length < 5) throw new AddressError('base58 data too short');
  const body = raw.subarray(0, raw.length - 4);
  const sum = raw.subarray(raw.length - 4);
  const want = checksum4(body);
  if (!sum.every((x, i) => x === want[i])) throw new AddressError('base58check checksum mismatch (typo?)');
  return { version: body[0]!, payload: body.subarray(1) };
}

// ------------------------------------------------------------------------------------------------
// bech32 / bech32m (BIP 173, BIP 350)

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const CHARSET_INDEX = new Map([...CHARSET].map((c, i) => [c, i]));
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;
export type Bech32Encoding = 'bech32' | 'bech32m';

function polymod(values: number[]): number {
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!;
  }
  return chk >>> 0;
}
function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

export function bech32Encode(hrp: string, data: number[], enc: Bech32Encoding): string {
  const values = [...hrpExpand(hrp), ...data];
  const mod = polymod([...values, 0, 0, 0, 0, 0, 0]) ^ (enc === 'bech32' ? BECH32_CONST : BECH32M_CONST);
  const sum: number[] = [];
  for (let i = 0; i < 6; i++) sum.push((mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...data, ...sum].map((d) => CHARSET[d]).join('')}`;
}

export function bech32Decode(s: string): { hrp: string; data: number[]; encoding: Bech32Encoding } {
  if (s.length > 90) throw new AddressError(`bech32 string longer than 90 characters (${s.length})`);
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (code < 33 || code > 126)
      throw new AddressError('bech32 string has a character outside US-ASCII 33..126');
  }
  if (s !== s.toLowerCase() && s !== s.toUpperCase())
    throw new AddressError('bech32 string mixes upper and lower case');
  const lower = s.toLowerCase();
  const pos = lower.lastIndexOf('1');
  if (pos < 1) throw new AddressError('bech32 string has no human-readable part or no separator "1"');
  if (pos + 7 > lower.length) throw new AddressError('bech32 checksum too short');
  const hrp = lower.slice(0, pos);
  const data: number[] = [];
  for (const c of lower.slice(pos + 1)) {
    const v = CHARSET_INDEX.get(c);
    if (v === undefined) throw new AddressError(`invalid bech32 character "${c}"`);
    data.push(v);
  }
  const mod = polymod([...hrpExpand(hrp), ...data]);
  const encoding: Bech32Encoding | undefined =
    mod === BECH32_CONST ? 'bech32' : mod === BECH32M_CONST ? 'bech32m' : undefined;
  if (!encoding) throw new AddressError('bech32 checksum mismatch (typo?)');
  return { hrp, data: data.slice(0, -6), encoding };
}

function convertBits(data: readonly number[], from: number, to: number, pad: boolean): number[] {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (const v of data) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >>> bits) & maxv);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else {
    if (bits >= from) throw new AddressError('witness program has more than 4 bits of padding');
    if ((acc << (to - bits)) & maxv) throw new AddressError('witness program has non-zero padding');
  }
  return out;
}

export function encodeSegwitAddress(hrp: string, version: number, program: Uint8Array): string {
  const enc: Bech32Encoding = version === 0 ? 'bech32' : 'bech32m';
  return bech32Encode(hrp, [version, ...convertBits([...program], 8, 5, true)], enc);
}

export function decodeSegwitAddress(s: string): { hrp: string; version: number; program: Uint8Array } {
  const { hrp, data, encoding } = bech32Decode(s);
  if (data.length < 1) throw new AddressError('segwit address has an empty data part');
  const version = data[0]!;
  if (version > 16) throw new AddressError(`invalid witness version ${version}`);
  const program = Uint8Array.from(convertBits(data.slice(1), 5, 8, false));
  if (program.length < 2 || program.length > 40)
    throw new AddressError(`witness program of ${program.length} bytes (must be 2..40)`);
  if (version === 0 && program.length !== 20 && program.length !== 32)
    throw new AddressError(`witness v0 program of ${program.length} bytes (must be 20 or 32)`);
  if (version === 0 && encoding !== 'bech32')
    throw new AddressError('witness v0 address must use bech32, not bech32m (BIP 350)');
  if (version !== 0 && encoding !== 'bech32m')
    throw new AddressError(`witness v${version} address must use bech32m, not bech32 (BIP 350)`);
  return { hrp, version, program };
}

// ------------------------------------------------------------------------------------------------
// Addresses → scriptPubKey

export function segwitScript(version: number, program: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(version === 0 ? 0 : 0x50 + version, program.length), program);
}
export const p2pkhScript = (h160: Uint8Array) =>
  concat(Uint8Array.of(0x76, 0xa9, 0x14), h160, Uint8Array.of(0x88, 0xac));
export const p2shScript = (h160: Uint8Array) => concat(Uint8Array.of(0xa9, 0x14), h160, Uint8Array.of(0x87));

/** Decodes any address of the four networks (no network check; see payoutScript). */
export function decodeAddress(addr: string): DecodedAddress {
  if (typeof addr !== 'string' || addr.length === 0) throw new AddressError('empty address');
  const s = addr.trim();
  const lower = s.toLowerCase();
  const hrps = [...new Set(NETWORKS.map((n) => NETWORK_PARAMS[n].hrp))];
  const hrp = hrps.find((h) => lower.startsWith(`${h}1`) && lower.lastIndexOf('1') === h.length);
  if (hrp) {
    const d = decodeSegwitAddress(s);
    const networks = NETWORKS.filter((n) => NETWORK_PARAMS[n].hrp === d.hrp);
    let type: AddressType = 'witness-unknown';
    if (d.version === 0) type = d.program.length === 20 ? 'p2wpkh' : 'p2wsh';
    else if (d.version === 1 && d.program.length === 32) type = 'p2tr';
    return {
      type,
      networks,
      scriptPubKey: segwitScript(d.version, d.program),
      witnessVersion: d.version,
      program: d.program,
    };
  }
  if (
    /^[a-z]{1,83}1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{6,}$/.test(lower) &&
    !/^[1-9A-HJ-NP-Za-km-z]+$/.test(s)
  )
    throw new AddressError(
      `unknown segwit prefix "${lower.slice(0, lower.lastIndexOf('1'))}" (expected bc, tb or bcrt)`,
    );
  let d: { version: number; payload: Uint8Array };
  try {
    d = base58checkDecode(s);
  } catch (e) {
    throw new AddressError(`not a valid address: ${(e as Error).message}`);
  }
  if (d.payload.length !== 20)
    throw new AddressError(`base58 payload of ${d.payload.length} bytes (expected a 20-byte hash)`);
  const p2pkh = NETWORKS.filter((n) => NETWORK_PARAMS[n].p2pkh === d.version);
  const p2sh = NETWORKS.filter((n) => NETWORK_PARAMS[n].p2sh === d.version);
  if (p2pkh.length > 0)
    return { type: 'p2pkh', networks: p2pkh, scriptPubKey: p2pkhScript(d.payload), program: d.payload };
  if (p2sh.length > 0)
    return { type: 'p2sh', networks: p2sh, scriptPubKey: p2shScript(d.payload), program: d.payload };
  throw new AddressError(`unknown base58 version byte 0x${d.version.toString(16).padStart(2, '0')}`);
}

/**
 * The scriptPubKey a block reward is paid to, for `network`. Refuses addresses of another network and
 * future witness versions (anyone-can-spend today: a reward sent there could be taken by anyone).
 */
export function payoutScript(
  addr: string,
  network: Network,
): { type: AddressType; scriptPubKey: Uint8Array } {
  const d = decodeAddress(addr);
  if (!d.networks.includes(network))
    throw new AddressError(
      `address ${addr} is a ${d.networks.join('/')} address, but the node is on ${network}`,
    );
  if (d.type === 'witness-unknown')
    throw new AddressError(
      `address ${addr} uses witness v${d.witnessVersion} with a ${d.program.length}-byte program, which no wallet can spend safely today; use P2PKH, P2SH, P2WPKH, P2WSH or P2TR`,
    );
  return { type: d.type, scriptPubKey: d.scriptPubKey };
}

/** Core's chain names (getblockchaininfo "chain") → ours. */
export function networkOfChain(chain: string): Network {
  switch (chain) {
    case 'main':
      return 'mainnet';
    case 'test':
    case 'testnet4':
      return 'testnet';
    case 'signet':
      return 'signet';
    case 'regtest':
      return 'regtest';
    default:
      throw new AddressError(`unknown chain "${chain}"`);
  }
}
