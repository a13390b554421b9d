/**
 * Keeps secrets out of anything telemetry publishes: pool URLs lose any `user:pass@` part.
 */

/** Returns `url` without credentials (`stratum+tcp://u:p@host:3333` → `stratum+tcp://host:3333`). */
export function sanitizePoolUrl(url: string): string {
  // Works for any scheme (stratum+tcp, stratum+ssl, …) without relying on WHATWG URL special-casing.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}
