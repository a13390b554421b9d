import { BOARDS } from '../../boards/index.ts';

export const summary = 'list the board profiles';
export const usage = `asicd boards [--json]

Lists the built-in board profiles (chip model and count, transport, sensors, limits).
Use one with \`asicd run --board ID\`; \`--board generic --chip BM1370 --chips 4 --device /dev/ttyUSB0\`
drives repurposed hardware.`;

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--json')) {
    console.log(JSON.stringify(BOARDS, null, 2));
    return 0;
  }
  const rows = BOARDS.map((b) => [
    b.id,
    `${b.chips} × ${b.chip}`,
    b.transport.kind === 'uart'
      ? `${b.transport.path}`
      : b.transport.kind === 'sim'
        ? 'emulated'
        : `spi ${b.transport.spiBus}.${b.transport.spiDevice}/${b.transport.channel}`,
    `${b.limits.frequencyMhz.default} MHz`,
    `max ${b.limits.maxTempC} °C`,
    b.name,
  ]);
  rows.push(['generic', 'N × chip', '--device', '', '', 'from --chip/--chips/--device/--baud']);
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
