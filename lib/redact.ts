/**
 * The one redaction step for secrets on their way out of the process: every log line, error message,
 * MQTT payload, API reply and metric label goes through `redactText` (text) or `redactValue` (structured
 * data) before it leaves. Three rules, applied together:
 *
 * 1. User-info in any URL is masked: `stratum+tcp://user:pass@host:3333` → `stratum+tcp://***@host:3333`
 *    (any scheme; the last `@` before the host wins, so a password holding `@` is masked whole).
 * 2. Values under a secret-looking key (`pass`, `password`, `secret`, `token`, `apiKey`, …) become `***`.
 * 3. Every secret value the configuration loaded (pool and MQTT passwords, passwords taken from URL
 *    user-info) is registered here and masked wherever it appears, even inside free text such as an
 *    error message a library built. Values shorter than 4 characters are not registered: the customary
 *    pool password "x" is no secret, and masking it everywhere would garble every line.
 */

export const MASK = '***';

/** Keys whose values are secrets. */
export const SECRET_KEY = /pass(word)?|secret|token|api[_-]?key|credential|authorization/i;

/** scheme://user-info@ — user-info may hold ':' and '@' (greedy to the last '@' before the host). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'<>,;`]*@/gi;

const secrets = new Set<string>();

/** Registers a secret value: from now on it is masked in everything redacted. */
export function registerSecret(value: unknown): void {
  if (value === undefined || value === null) return;
  const s = String(value);
  if (s.length < 4) return;
  secrets.add(s);
  // The same secret as it appears percent-encoded inside a URL, or escaped inside JSON.
  const enc = encodeURIComponent(s);
  if (enc !== s) secrets.add(enc);
  const json = JSON.stringify(s).slice(1, -1);
  if (json !== s) secrets.add(json);
}

/** For tests: how many secret values are registered. */
export function registeredSecrets(): number {
  return secrets.size;
}

/** A URL without its user-info (`scheme://u:p@host` → `scheme://***@host`). */
export function redactUrl(url: string): string {
  return redactText(url);
}

/** Masks URL user-info and every registered secret in free text. */
export function redactText(text: string): string {
  let out = text.includes('@') ? text.replace(URL_USERINFO, `$1${MASK}@`) : text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
  return out;
}

/**
 * Structured data made safe to print: secret keys masked, strings through redactText, Errors as their
 * (redacted) message, bigint as text. Plain objects and arrays are copied; other values pass through.
 */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return redactText(value.message);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactKeyValue(k, v, depth + 1);
  return out;
}

/** One field: masked whole when the key names a secret, else redacted as a value. */
export function redactKeyValue(key: string, value: unknown, depth = 0): unknown {
  if (SECRET_KEY.test(key)) return value === undefined || value === null || value === '' ? value : MASK;
  return redactValue(value, depth);
}

/** JSON.stringify with the redaction step applied to the result (MQTT payloads, API replies). */
export function safeJson(value: unknown): string {
  return redactText(JSON.stringify(value));
}

export interface UserInfoSplit {
  /** The URL without user-info. */
  url: string;
  user?: string;
  pass?: string;
}

/**
 * Takes the user-info out of a URL (`scheme://user:pass@host:port`, also without a scheme), decoding
 * percent-escapes; the password is registered as a secret. A URL without user-info comes back as is.
 * Throws (with the secret masked) when the user-info cannot be decoded.
 */
export function splitUserInfo(raw: string): UserInfoSplit {
  const m = /^(\s*(?:[a-z][a-z0-9+.-]*:\/\/)?)([^/?#\s]*)@([^@]*)$/i.exec(raw);
  if (!m) return { url: raw };
  const info = m[2]!;
  const colon = info.indexOf(':');
  const rawUser = colon >= 0 ? info.slice(0, colon) : info;
  const rawPass = colon >= 0 ? info.slice(colon + 1) : undefined;
  if (rawPass !== undefined) registerSecret(rawPass);
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new Error(`"${redactText(raw)}": the user-info is not valid percent-encoding`);
    }
  };
  const pass = rawPass === undefined ? undefined : decode(rawPass);
  if (pass !== undefined) registerSecret(pass);
  const user = decode(rawUser);
  return {
    url: `${m[1]}${m[3]}`,
    ...(user !== '' ? { user } : {}),
    ...(pass !== undefined ? { pass } : {}),
  };
}
