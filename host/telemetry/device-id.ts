/**
 * A stable device id for topics and Home Assistant unique ids. Order: configured id, board serial
 * (e.g. a Raspberry Pi's /proc/device-tree/serial-number), MAC of the first physical network
 * interface (sorted by name so it does not change between boots), hostname as the last resort.
 */
import { readFileSync } from 'node:fs';
import { hostname, type NetworkInterfaceInfo, networkInterfaces } from 'node:os';

export interface DeviceIdSources {
  configured?: string | undefined;
  serial?: string | undefined;
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
  hostname?: string;
}

/** Lower-case, [a-z0-9_-] only, at most 48 characters. */
export function sanitizeDeviceId(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 48);
}

function macId(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string | undefined {
  for (const name of Object.keys(interfaces).sort()) {
    for (const info of interfaces[name] ?? []) {
      if (info.internal || !info.mac || info.mac === '00:00:00:00:00:00') continue;
      return info.mac.replace(/:/g, '');
    }
  }
  return undefined;
}

/** Reads a board serial the OS exposes (Raspberry Pi device tree or /proc/cpuinfo), if any. */
export function readBoardSerial(): string | undefined {
  try {
    const s = readFileSync('/proc/device-tree/serial-number', 'utf8').replace(/\0/g, '').trim();
    if (s) return s;
  } catch {}
  try {
    const m = /^Serial\s*:\s*([0-9a-f]+)\s*$/im.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m && !/^0+$/.test(m[1]!)) return m[1];
  } catch {}
  return undefined;
}

export function deriveDeviceId(src: DeviceIdSources = {}): string {
  if (src.configured !== undefined) {
    const id = sanitizeDeviceId(src.configured);
    if (!id) throw new Error(`device id "${src.configured}" is invalid: use letters, digits, _ or -`);
    return id;
  }
  const serial = src.serial !== undefined ? src.serial : readBoardSerial();
  if (serial && sanitizeDeviceId(serial)) return sanitizeDeviceId(`s${serial}`);
  const mac = macId(src.interfaces ?? networkInterfaces());
  if (mac) return mac;
  return sanitizeDeviceId(src.hostname ?? hostname()) || 'asicd';
}
