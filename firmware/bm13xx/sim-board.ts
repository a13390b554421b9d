/**
 * The chain of a simulated board (the daemon's `sim-*` profiles), in a module of its own so the daemon
 * loads the chain emulator without the rest of the emulator entry (pty serving, the search helpers).
 */
import { createEmulatedChain, type EmulatedChain, type EmulatedChainOptions } from './chain.ts';

/**
 * The chain of a simulated board (the daemon's `sim-*` profiles): the same in-process chain as
 * createEmulatedChain. Boards default to easy mode 16 unless told otherwise.
 */
export function createSimBoardChain(opts: EmulatedChainOptions): EmulatedChain {
  return createEmulatedChain({ easyBits: 16, ...opts });
}
