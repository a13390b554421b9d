/**
 * Finds a USB bridge's control and data CDC ports by VID/PID, manufacturer/product strings and USB
 * interface number — never by ttyACM number (the kernel hands those out in plug order). Reads sysfs:
 * /sys/class/tty/ttyACMn/device is the CDC interface (bInterfaceNumber); its parent is the USB device
 * (idVendor, idProduct, manufacturer, product, serial). Node names are sorted like mujina does.
 * `sysRoot` is injectable for tests.
 */
import { readdir, readFile, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface UsbTty {
  /** /dev/ttyACM0 … */
  path: string;
  vid: number;
  pid: number;
  manufacturer: string;
  product: string;
  serial: string;
  interface: number;
  /** USB device path in sysfs (groups the ports of one board). */
  device: string;
}

async function text(p: string): Promise<string> {
  try {
    return (await readFile(p, 'utf8')).trim();
  } catch {
    return '';
  }
}

/** Every USB CDC ACM tty with its device's ids and strings. */
export async function listUsbTtys(sysRoot = '/sys', devRoot = '/dev'): Promise<UsbTty[]> {
  const base = join(sysRoot, 'class/tty');
  let names: string[];
  try {
    names = (await readdir(base)).filter((n) => /^tty(ACM|USB)\d+$/.test(n));
  } catch {
    return [];
  }
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const out: UsbTty[] = [];
  for (const n of names) {
    let iface: string;
    try {
      iface = await realpath(join(base, n, 'device'));
    } catch {
      continue;
    }
    const dev = dirname(iface);
    const vid = Number.parseInt(await text(join(dev, 'idVendor')), 16);
    if (!Number.isFinite(vid)) continue;
    out.push({
      path: join(devRoot, n),
      vid,
      pid: Number.parseInt(await text(join(dev, 'idProduct')), 16),
      manufacturer: await text(join(dev, 'manufacturer')),
      product: await text(join(dev, 'product')),
      serial: await text(join(dev, 'serial')),
      interface: Number.parseInt(await text(join(iface, 'bInterfaceNumber')), 16),
      device: dev,
    });
  }
  return out;
}

export interface BridgeMatch {
  vid?: number;
  pid?: number;
  manufacturer?: string;
  product: string;
  controlInterface: number;
  dataInterface: number;
}

export interface BridgePorts {
  control: string;
  data: string;
  serial: string;
  product: string;
}

/** The boards matching `m`, each with its control and data port. */
export function matchBridges(ttys: readonly UsbTty[], m: BridgeMatch): BridgePorts[] {
  const byDevice = new Map<string, UsbTty[]>();
  for (const t of ttys) {
    if (m.vid !== undefined && t.vid !== m.vid) continue;
    if (m.pid !== undefined && t.pid !== m.pid) continue;
    if (m.manufacturer !== undefined && t.manufacturer !== m.manufacturer) continue;
    if (t.product !== m.product) continue;
    byDevice.set(t.device, [...(byDevice.get(t.device) ?? []), t]);
  }
  const out: BridgePorts[] = [];
  for (const ports of byDevice.values()) {
    const control = ports.find((p) => p.interface === m.controlInterface);
    const data = ports.find((p) => p.interface === m.dataInterface);
    if (control && data)
      out.push({ control: control.path, data: data.path, serial: control.serial, product: control.product });
  }
  return out;
}
