/**
 * Public entry of the BM13xx chip emulators: in-process chains (a ByteTransport-shaped link plus an
 * object API), chains served on a pseudo-terminal, and the factory the simulated boards use.
 */
export {
  type ChainFaults,
  type ChainStats,
  createEmulatedChain,
  EmulatedChain,
  type EmulatedChainOptions,
  EmulatorLinkError,
  type FoundEvent,
  type ReplayNonce,
  type ReplayOptions,
} from './chain.ts';
export { type ChipFaults, type ChipJob, EmulatedChip, type FoundNonce } from './chip.ts';
export { commandFrame, HostFrameParser, jobFrame } from './frames.ts';
export { CHIP_MODELS, type ChipModel, MODELS, modelInfo } from './models.ts';
export { type PtyServeOptions, type PtyServer, serveOnPty } from './pty.ts';
export { findNonces } from './search.ts';

export { createSimBoardChain } from './sim-board.ts';
