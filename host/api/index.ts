/**
 * The daemon ↔ telemetry interface (see types.ts for the contract). Import from here.
 */

export { sanitizePoolUrl } from './sanitize.ts';
export type * from './types.ts';
export { PUBLIC_EVENT_TYPES } from './types.ts';
