// The one test of a pool URL for Stratum V2, apart from client.ts so that checking it loads nothing else.

/** True for the SV2 scheme (under --algo sha256d; the ethash dialects use stratum2+tcp differently). */
export function isSv2Url(url: string): boolean {
  return /^stratum2\+tcp:\/\//i.test(url.trim());
}
