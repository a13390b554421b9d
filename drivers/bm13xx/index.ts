/**
 * Public entry of the BM13xx host driver: the pure codec, model tables, register encodings, PLL,
 * init sequences and the chain actor. See REFERENCE.md for the facts and choices behind them.
 */
export {
  Bm13xxChain,
  ChainError,
  type ChainErrorCode,
  type ChainEvents,
  type ChainInfo,
  type ChainOptions,
  type ChainState,
  type ChainTiming,
  ESP_TIMING,
  FAST_TIMING,
  type HashrateSample,
  type NonceEvent,
  type RegisterEvent,
} from './chain.ts';
export {
  chainInactiveFrame,
  chipIndexFromNonce,
  commandFrame,
  type DecodedReply,
  type DecoderStats,
  decodeReply,
  encodeJob,
  encodeNonceReply,
  encodeRegisterReply,
  type JobInput,
  jobFrameLength,
  ResponseDecoder,
  readRegisterAllFrame,
  readRegisterFrame,
  replyValid,
  setAddressFrame,
  writeRegisterAllFrame,
  writeRegisterFrame,
} from './codec.ts';
export { crc5, crc16False } from './crc.ts';
export {
  addressInterval,
  DEFAULT_VERSION_MASK,
  enumerationFrame,
  type InitStep,
  postEnumeration,
  preEnumeration,
  rampSteps,
} from './init.ts';
export {
  CHIP_MODELS,
  type ChipModel,
  jobIntervalMs,
  MODELS,
  type ModelInfo,
  modelByChipId,
  modelInfo,
  nextJobId,
} from './models.ts';
export { frequencyRamp, type PllParams, pllFor, pllRegisterValue, pllSearch } from './pll.ts';
export {
  bm1397HashrateGhs,
  counterGhs,
  hashCountingNumber,
  REG,
  ticketMaskValue,
  versionMaskValue,
} from './registers.ts';
