/**
 * The hashing gate as a pure decision: the chips may hash only when every condition holds, and when one
 * fails the reason says which (the first in safety order). No I/O, no clock: the Miner feeds it the facts
 * and acts on the answer (idle the chips / resume them).
 */
export interface GateInputs {
  /** stop() began. */
  stopped: boolean;
  /** emergencyStop(): nothing may hash again in this process. */
  halted: boolean;
  /** The thermal monitor allows hashing (started, temperature known, not overheated). */
  thermalAllowed: boolean;
  /** Why thermal does not allow it (overheat / sensor fault), when known. */
  thermalReason?: string | undefined;
  paused: boolean;
  /** A pool feeds jobs. */
  poolActive: boolean;
  /** The chains are initialised. */
  chainsReady: boolean;
}

export interface GateDecision {
  open: boolean;
  /** Why the gate is closed (empty when open). */
  reason: string;
}

export function hashingGate(g: GateInputs): GateDecision {
  if (g.stopped) return { open: false, reason: 'stopping' };
  if (g.halted) return { open: false, reason: 'halted after an emergency stop' };
  if (!g.thermalAllowed)
    return {
      open: false,
      reason: g.thermalReason ? `thermal: ${g.thermalReason}` : 'waiting for the first valid temperature',
    };
  if (g.paused) return { open: false, reason: 'paused' };
  if (!g.poolActive) return { open: false, reason: 'no pool' };
  if (!g.chainsReady) return { open: false, reason: 'chains not ready' };
  return { open: true, reason: '' };
}
