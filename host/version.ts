import { readFileSync } from 'node:fs';

/** The package version, read once from package.json (the single source of truth). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** User agent sent in mining.subscribe and answered to client.get_version. */
export const USER_AGENT = `asicd/${VERSION}`;
