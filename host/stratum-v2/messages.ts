/**
 * SV2 common and mining-protocol messages: pure encode/decode of payloads (framing in framing.ts).
 * Field order and types as in the SV2 specification (sections 5 and 5.3); message type numbers and the
 * channel-message bit per message in MESSAGE_TYPES. Targets are U256 carried as bigint; hashes and
 * merkle nodes as 32 raw bytes in the order they appear on the wire. Facts: REFERENCE.md.
 */
import { CodecError, Reader, Writer } from './codec.ts';

export const MSG = {
  SetupConnection: 0x00,
  SetupConnectionSuccess: 0x01,
  SetupConnectionError: 0x02,
  OpenStandardMiningChannel: 0x10,
  OpenStandardMiningChannelSuccess: 0x11,
  OpenMiningChannelError: 0x12,
  OpenExtendedMiningChannel: 0x13,
  OpenExtendedMiningChannelSuccess: 0x14,
  NewMiningJob: 0x15,
  UpdateChannel: 0x16,
  UpdateChannelError: 0x17,
  CloseChannel: 0x18,
  SetExtranoncePrefix: 0x19,
  SubmitSharesStandard: 0x1a,
  SubmitSharesExtended: 0x1b,
  SubmitSharesSuccess: 0x1c,
  SubmitSharesError: 0x1d,
  NewExtendedMiningJob: 0x1f,
  SetNewPrevHash: 0x20,
  SetTarget: 0x21,
  Reconnect: 0x25,
} as const;

export type MessageName = keyof typeof MSG;

/** Messages sent with the channel_msg bit set (they carry a channel_id first). */
export const CHANNEL_MESSAGES: ReadonlySet<MessageName> = new Set<MessageName>([
  'NewMiningJob',
  'UpdateChannel',
  'UpdateChannelError',
  'CloseChannel',
  'SetExtranoncePrefix',
  'SubmitSharesStandard',
  'SubmitSharesExtended',
  'SubmitSharesSuccess',
  'SubmitSharesError',
  'NewExtendedMiningJob',
  'SetNewPrevHash',
  'SetTarget',
]);

/** SetupConnection.protocol: 0 = mining protocol. */
export const PROTOCOL_MINING = 0;
/** SetupConnection flags (mining protocol, client → server). */
export const SETUP_FLAGS = {
  REQUIRES_STANDARD_JOBS: 1 << 0,
  REQUIRES_WORK_SELECTION: 1 << 1,
  REQUIRES_VERSION_ROLLING: 1 << 2,
} as const;

export type Sv2Message =
  | {
      type: 'SetupConnection';
      protocol: number;
      minVersion: number;
      maxVersion: number;
      flags: number;
      endpointHost: string;
      endpointPort: number;
      vendor: string;
      hardwareVersion: string;
      firmware: string;
      deviceId: string;
    }
  | { type: 'SetupConnectionSuccess'; usedVersion: number; flags: number }
  | { type: 'SetupConnectionError'; flags: number; errorCode: string }
  | {
      type: 'OpenStandardMiningChannel';
      requestId: number;
      userIdentity: string;
      nominalHashRate: number;
      maxTarget: bigint;
    }
  | {
      type: 'OpenStandardMiningChannelSuccess';
      requestId: number;
      channelId: number;
      target: bigint;
      extranoncePrefix: Uint8Array;
      groupChannelId: number;
    }
  | { type: 'OpenMiningChannelError'; requestId: number; errorCode: string }
  | {
      type: 'OpenExtendedMiningChannel';
      requestId: number;
      userIdentity: string;
      nominalHashRate: number;
      maxTarget: bigint;
      minExtranonceSize: number;
    }
  | {
      type: 'OpenExtendedMiningChannelSuccess';
      requestId: number;
      channelId: number;
      target: bigint;
      extranonceSize: number;
      extranoncePrefix: Uint8Array;
    }
  | {
      type: 'NewMiningJob';
      channelId: number;
      jobId: number;
      /** undefined = future job (activated by a later SetNewPrevHash). */
      minNtime: number | undefined;
      version: number;
      merkleRoot: Uint8Array;
    }
  | {
      type: 'NewExtendedMiningJob';
      channelId: number;
      jobId: number;
      minNtime: number | undefined;
      version: number;
      versionRollingAllowed: boolean;
      merklePath: Uint8Array[];
      coinbaseTxPrefix: Uint8Array;
      coinbaseTxSuffix: Uint8Array;
    }
  | {
      type: 'SetNewPrevHash';
      channelId: number;
      jobId: number;
      /** 32 bytes in header order (as placed in the block header). */
      prevHash: Uint8Array;
      minNtime: number;
      nbits: number;
    }
  | { type: 'SetTarget'; channelId: number; maximumTarget: bigint }
  | { type: 'SetExtranoncePrefix'; channelId: number; extranoncePrefix: Uint8Array }
  | {
      type: 'SubmitSharesStandard';
      channelId: number;
      sequenceNumber: number;
      jobId: number;
      nonce: number;
      ntime: number;
      version: number;
    }
  | {
      type: 'SubmitSharesExtended';
      channelId: number;
      sequenceNumber: number;
      jobId: number;
      nonce: number;
      ntime: number;
      version: number;
      extranonce: Uint8Array;
    }
  | {
      type: 'SubmitSharesSuccess';
      channelId: number;
      lastSequenceNumber: number;
      newSubmitsAcceptedCount: number;
      newSharesSum: bigint;
    }
  | { type: 'SubmitSharesError'; channelId: number; sequenceNumber: number; errorCode: string }
  | { type: 'UpdateChannel'; channelId: number; nominalHashRate: number; maximumTarget: bigint }
  | { type: 'UpdateChannelError'; channelId: number; errorCode: string }
  | { type: 'CloseChannel'; channelId: number; reasonCode: string }
  | { type: 'Reconnect'; newHost: string; newPort: number };

export type MessageOf<N extends MessageName> = Extract<Sv2Message, { type: N }>;

/** A message type this codec does not know (skipped by receivers; kept for counters). */
export interface UnknownMessage {
  type: 'unknown';
  extensionType: number;
  msgType: number;
  length: number;
}

const NAME_OF = new Map<number, MessageName>(
  (Object.entries(MSG) as Array<[MessageName, number]>).map(([k, v]) => [v, k]),
);

/** Payload bytes of a message. */
export function encodePayload(m: Sv2Message): Uint8Array {
  const w = new Writer();
  switch (m.type) {
    case 'SetupConnection':
      w.u8('protocol', m.protocol)
        .u16('min_version', m.minVersion)
        .u16('max_version', m.maxVersion)
        .u32('flags', m.flags)
        .str0_255('endpoint_host', m.endpointHost)
        .u16('endpoint_port', m.endpointPort)
        .str0_255('vendor', m.vendor)
        .str0_255('hardware_version', m.hardwareVersion)
        .str0_255('firmware', m.firmware)
        .str0_255('device_id', m.deviceId);
      break;
    case 'SetupConnectionSuccess':
      w.u16('used_version', m.usedVersion).u32('flags', m.flags);
      break;
    case 'SetupConnectionError':
      w.u32('flags', m.flags).str0_255('error_code', m.errorCode);
      break;
    case 'OpenStandardMiningChannel':
      w.u32('request_id', m.requestId)
        .str0_255('user_identity', m.userIdentity)
        .f32('nominal_hash_rate', m.nominalHashRate)
        .u256('max_target', m.maxTarget);
      break;
    case 'OpenStandardMiningChannelSuccess':
      w.u32('request_id', m.requestId)
        .u32('channel_id', m.channelId)
        .u256('target', m.target)
        .b0_32('extranonce_prefix', m.extranoncePrefix)
        .u32('group_channel_id', m.groupChannelId);
      break;
    case 'OpenMiningChannelError':
      w.u32('request_id', m.requestId).str0_255('error_code', m.errorCode);
      break;
    case 'OpenExtendedMiningChannel':
      w.u32('request_id', m.requestId)
        .str0_255('user_identity', m.userIdentity)
        .f32('nominal_hash_rate', m.nominalHashRate)
        .u256('max_target', m.maxTarget)
        .u16('min_extranonce_size', m.minExtranonceSize);
      break;
    case 'OpenExtendedMiningChannelSuccess':
      w.u32('request_id', m.requestId)
        .u32('channel_id', m.channelId)
        .u256('target', m.target)
        .u16('extranonce_size', m.extranonceSize)
        .b0_32('extranonce_prefix', m.extranoncePrefix);
      break;
    case 'NewMiningJob':
      w.u32('channel_id', m.channelId)
        .u32('job_id', m.jobId)
        .optionU32('min_ntime', m.minNtime)
        .u32('version', m.version)
        .b0_32('merkle_root', m.merkleRoot);
      break;
    case 'NewExtendedMiningJob':
      w.u32('channel_id', m.channelId)
        .u32('job_id', m.jobId)
        .optionU32('min_ntime', m.minNtime)
        .u32('version', m.version)
        .bool(m.versionRollingAllowed)
        .seq0_255('merkle_path', m.merklePath, (ww, b) => ww.fixed('merkle_path[]', b, 32))
        .b0_64k('coinbase_tx_prefix', m.coinbaseTxPrefix)
        .b0_64k('coinbase_tx_suffix', m.coinbaseTxSuffix);
      break;
    case 'SetNewPrevHash':
      w.u32('channel_id', m.channelId)
        .u32('job_id', m.jobId)
        .fixed('prev_hash', m.prevHash, 32)
        .u32('min_ntime', m.minNtime)
        .u32('nbits', m.nbits);
      break;
    case 'SetTarget':
      w.u32('channel_id', m.channelId).u256('maximum_target', m.maximumTarget);
      break;
    case 'SetExtranoncePrefix':
      w.u32('channel_id', m.channelId).b0_32('extranonce_prefix', m.extranoncePrefix);
      break;
    case 'SubmitSharesStandard':
      w.u32('channel_id', m.channelId)
        .u32('sequence_number', m.sequenceNumber)
        .u32('job_id', m.jobId)
        .u32('nonce', m.nonce)
        .u32('ntime', m.ntime)
        .u32('version', m.version);
      break;
    case 'SubmitSharesExtended':
      w.u32('channel_id', m.channelId)
        .u32('sequence_number', m.sequenceNumber)
        .u32('job_id', m.jobId)
        .u32('nonce', m.nonce)
        .u32('ntime', m.ntime)
        .u32('version', m.version)
        .b0_32('extranonce', m.extranonce);
      break;
    case 'SubmitSharesSuccess':
      w.u32('channel_id', m.channelId)
        .u32('last_sequence_number', m.lastSequenceNumber)
        .u32('new_submits_accepted_count', m.newSubmitsAcceptedCount)
        .u64('new_shares_sum', m.newSharesSum);
      break;
    case 'SubmitSharesError':
      w.u32('channel_id', m.channelId)
        .u32('sequence_number', m.sequenceNumber)
        .str0_255('error_code', m.errorCode);
      break;
    case 'UpdateChannel':
      w.u32('channel_id', m.channelId)
        .f32('nominal_hash_rate', m.nominalHashRate)
        .u256('maximum_target', m.maximumTarget);
      break;
    case 'UpdateChannelError':
      w.u32('channel_id', m.channelId).str0_255('error_code', m.errorCode);
      break;
    case 'CloseChannel':
      w.u32('channel_id', m.channelId).str0_255('reason_code', m.reasonCode);
      break;
    case 'Reconnect':
      w.str0_255('new_host', m.newHost).u16('new_port', m.newPort);
      break;
  }
  return w.finish();
}

/** Decodes a payload of a known message type; throws CodecError on malformed bytes. */
export function decodePayload(msgType: number, payload: Uint8Array): Sv2Message | undefined {
  const name = NAME_OF.get(msgType);
  if (!name) return undefined;
  const r = new Reader(payload);
  let m: Sv2Message;
  switch (name) {
    case 'SetupConnection':
      m = {
        type: name,
        protocol: r.u8('protocol'),
        minVersion: r.u16('min_version'),
        maxVersion: r.u16('max_version'),
        flags: r.u32('flags'),
        endpointHost: r.str0_255('endpoint_host'),
        endpointPort: r.u16('endpoint_port'),
        vendor: r.str0_255('vendor'),
        hardwareVersion: r.str0_255('hardware_version'),
        firmware: r.str0_255('firmware'),
        deviceId: r.str0_255('device_id'),
      };
      break;
    case 'SetupConnectionSuccess':
      m = { type: name, usedVersion: r.u16('used_version'), flags: r.u32('flags') };
      break;
    case 'SetupConnectionError':
      m = { type: name, flags: r.u32('flags'), errorCode: r.str0_255('error_code') };
      break;
    case 'OpenStandardMiningChannel':
      m = {
        type: name,
        requestId: r.u32('request_id'),
        userIdentity: r.str0_255('user_identity'),
        nominalHashRate: r.f32('nominal_hash_rate'),
        maxTarget: r.u256('max_target'),
      };
      break;
    case 'OpenStandardMiningChannelSuccess':
      m = {
        type: name,
        requestId: r.u32('request_id'),
        channelId: r.u32('channel_id'),
        target: r.u256('target'),
        extranoncePrefix: r.b0_32('extranonce_prefix'),
        groupChannelId: r.u32('group_channel_id'),
      };
      break;
    case 'OpenMiningChannelError':
      m = { type: name, requestId: r.u32('request_id'), errorCode: r.str0_255('error_code') };
      break;
    case 'OpenExtendedMiningChannel':
      m = {
        type: name,
        requestId: r.u32('request_id'),
        userIdentity: r.str0_255('user_identity'),
        nominalHashRate: r.f32('nominal_hash_rate'),
        maxTarget: r.u256('max_target'),
        minExtranonceSize: r.u16('min_extranonce_size'),
      };
      break;
    case 'OpenExtendedMiningChannelSuccess':
      m = {
        type: name,
        requestId: r.u32('request_id'),
        channelId: r.u32('channel_id'),
        target: r.u256('target'),
        extranonceSize: r.u16('extranonce_size'),
        extranoncePrefix: r.b0_32('extranonce_prefix'),
      };
      // Newer spec revisions append group_channel_id (U32): accepted and ignored.
      if (r.remaining === 4) r.u32('group_channel_id');
      break;
    case 'NewMiningJob':
      m = {
        type: name,
        channelId: r.u32('channel_id'),
        jobId: r.u32('job_id'),
        minNtime: r.optionU32('min_ntime'),
        version: r.u32('version'),
        merkleRoot: r.b0_32('merkle_root'),
      };
      if (m.merkleRoot.length !== 32)
        throw new CodecError(`merkle_root: ${m.merkleRoot.length} bytes, expected 32`);
      break;
    case 'NewExtendedMiningJob':
      m = {
        type: name,
        channelId: r.u32('channel_id'),
        jobId: r.u32('job_id'),
        minNtime: r.optionU32('min_ntime'),
        version: r.u32('version'),
        versionRollingAllowed: r.bool('version_rolling_allowed'),
        merklePath: r.seq0_255('merkle_path', (rr) => rr.fixed('merkle_path[]', 32)),
        coinbaseTxPrefix: r.b0_64k('coinbase_tx_prefix'),
        coinbaseTxSuffix: r.b0_64k('coinbase_tx_suffix'),
      };
      break;
    case 'SetNewPrevHash':
      m = {
        type: name,
        channelId: r.u32('channel_id'),
        jobId: r.u32('job_id'),
        prevHash: r.fixed('prev_hash', 32),
        minNtime: r.u32('min_ntime'),
        nbits: r.u32('nbits'),
      };
      break;
    case 'SetTarget':
      m = { type: name, channelId: r.u32('channel_id'), maximumTarget: r.u256('maximum_target') };
      break;
    case 'SetExtranoncePrefix':
      m = { type: name, channelId: r.u32('channel_id'), extranoncePrefix: r.b0_32('extranonce_prefix') };
      break;
    case 'SubmitSharesStandard':
      m = {
        type: name,
        channelId: r.u32('channel_id'),
        sequenceNumber: r.u32('sequence_number'),
        jobId: r.u32('job_id'),
        nonce: r.u32('nonce'),
        ntime: r.u32('ntime'),
        version: r.u32('version'),
      };
      break;
    case 'SubmitSharesExtended':
      m = {
        type: name,
        channelId: r.u32('channel_id'),
        sequenceNumber: r.u32('sequence_number'),
        jobId: r.u32('job_id'),
        nonce: r.u32('nonce'),
        ntime: r.u32('ntime'),
        version: r.u32('version'),
        extranonce: r.b0_32('extranonce'),
      };
      break;
    case 'SubmitSharesSuccess':
      m = {
        type: name,
        channelId: r.u32('channel_id'),
        lastSequenceNumber: r.u32('last_sequence_number'),
        newSubmitsAcceptedCount: r.u32('new_submits_accepted_count'),
        newSharesSum: r.u64('new_shares_sum'),
      };
      break;
    case 'SubmitSharesError':
      m = {
        type: name,
        channelId: r.u32('channel_id'),
        sequenceNumber: r.u32('sequence_number'),
        errorCode: r.str0_255('error_code'),
      };
      break;
    case 'UpdateChannel':
      m = {
        type: name,
        channelId: r.u32('channel_id'),
        nominalHashRate: r.f32('nominal_hash_rate'),
        maximumTarget: r.u256('maximum_target'),
      };
      break;
    case 'UpdateChannelError':
      m = { type: name, channelId: r.u32('channel_id'), errorCode: r.str0_255('error_code') };
      break;
    case 'CloseChannel':
      m = { type: name, channelId: r.u32('channel_id'), reasonCode: r.str0_255('reason_code') };
      break;
    case 'Reconnect':
      m = { type: name, newHost: r.str0_255('new_host'), newPort: r.u16('new_port') };
      break;
  }
  r.end(name);
  return m;
}

export { CodecError };
