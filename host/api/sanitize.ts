/**
 * Keeps secrets out of anything telemetry publishes: pool URLs lose any `user:pass@` part. The general
 * redaction step (URL user-info, registered secret values, secret keys) is lib/redact.ts.
 */
import { redactText } from '../../lib/redact.ts';

/** Returns `url` without credentials (`stratum+tcp://u:p@host:3333` → `stratum+tcp://host:3333`). */
export function sanitizePoolUrl(url: string): string {
  // Works for any scheme (stratum+tcp, stratum+ssl, …) without relying on WHATWG URL special-casing.
  return redactText(url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/i, '$1'));
}
