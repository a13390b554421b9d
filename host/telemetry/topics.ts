/**
 * The MQTT topic schema (documented for users in TOPICS.md; the Node-RED nodes in node-red/lib/topics.js
 * mirror it). One place builds every topic so the publisher, discovery and tests agree.
 */

export interface Topics {
  base: string;
  /** Retained "online" / "offline" (last will). */
  availability: string;
  /** Retained state JSON. */
  state: string;
  /** Events: `<base>/event/<type>`, not retained. */
  event(type: string): string;
  /** Wildcard matching every event topic. */
  eventWildcard: string;
  /** Commands in: JSON `{ id?, command, ... }`. */
  command: string;
  /** Command replies out: JSON `{ id, command, ok, result? | error }`, not retained. */
  reply: string;
}

export function defaultBaseTopic(deviceId: string): string {
  return `asicd/${deviceId}`;
}

export function topicsFor(base: string): Topics {
  const b = base.replace(/\/+$/, '');
  return {
    base: b,
    availability: `${b}/availability`,
    state: `${b}/state`,
    event: (type: string) => `${b}/event/${type}`,
    eventWildcard: `${b}/event/+`,
    command: `${b}/cmd`,
    reply: `${b}/cmd/reply`,
  };
}

/** Throws when a configured base topic cannot be published to (wildcards, empty, leading '$'). */
export function validateBaseTopic(base: string): void {
  if (!base || /[#+\0]/.test(base) || base.startsWith('$')) {
    throw new Error(
      `mqtt base topic "${base}" is invalid: must be non-empty, without + # or NUL, not start with $`,
    );
  }
}
