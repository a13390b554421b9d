import { BOARDS, monitorName, regulatorName } from '../../boards/index.ts';

export const summary = 'list the board profiles';
export const usage = `asicd boards [--json]

Lists the built-in board profiles (chip model and count, host link, core regulator, power monitor,
default frequency and voltage, temperature limit).
Use one with \`asicd run --board ID\`; \`--board generic --chip BM1370 --chips 4 --device /dev/ttyUSB0\`
drives repurposed hardware.`;

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--json')) {
    console.log(JSON.stringify(BOARDS, null, 2));
    return 0;
  }
  const rows = [['ID', 'CHIPS', 'LINK', 'REGULATOR', 'MONITOR', 'DEFAULTS', 'LIMIT', 'NAME']];
  for (const b of BOARDS)
    rows.push([
      b.id,
      `${b.chips} × ${b.chip}`,
      b.transport.kind === 'uart'
        ? `${b.transport.path}`
        : b.transport.kind === 'sim'
          ? 'emulated'
          : b.transport.kind === 'usb-bridge'
            ? `usb ${b.bridge?.protocol ?? 'bridge'}`
            : `spi ${b.transport.spiBus}.${b.transport.spiDevice}/${b.transport.channel}`,
      regulatorName(b),
      monitorName(b),
      `${b.limits.frequencyMhz.default} MHz ${b.limits.voltageMv.default} mV`,
      `max ${b.limits.maxTempC} °C`,
      b.name,
    ]);
  rows.push(['generic', 'N × chip', '--device', '–', '–', '', '', 'from --chip/--chips/--device/--baud']);
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    console.log(
      r
        .map((c, i) => c.padEnd(w[i]!))
        .join('  ')
        .trimEnd(),
    );
  return 0;
}
