/** `asicd doctor [--board ID] [--json]`: what this machine has for real boards, and the exact fixes. */
import { parseArgs } from 'node:util';
import { findBoard } from '../../boards/index.ts';
import { doctor, formatReport } from '../power/doctor.ts';

export const summary = 'check UART, I2C, GPIO, PWM and USB bridges for a board (and say how to fix them)';
export const usage = `asicd doctor [--board ID] [--bridge LINK] [--json]

Lists the UARTs, I2C buses, GPIO chips, PWM channels and USB bridges of this machine, which ones you can
open and, where not, the exact fix (dialout / i2c / gpio groups, raspi-config serial settings, the
dtoverlay line), and the serial-console conflict on /dev/serial0. With --board, checks what that board
needs; an emulated twin (sim-*) is brought up against its emulated parts and its regulator ID and core
voltage are read back; a real USB-bridge board that is plugged in (or served by \`asicd sim --board ID
--link LINK\`, with --bridge LINK) is asked through its bridge for its regulator ID and voltages, with the
core left off. Exit code 0 only when the chosen board can be brought up.`;

export async function run(argv: string[]): Promise<number> {
  let values: { board?: string; json?: boolean; bridge?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        board: { type: 'string' },
        bridge: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`asicd doctor: ${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  const board = values.board ? findBoard(values.board) : undefined;
  if (values.board && !board) {
    console.error(`asicd doctor: board "${values.board}" is not known (see \`asicd boards\`)`);
    return 2;
  }
  const roots = process.env.ASICD_DOCTOR_ROOT
    ? {
        dev: `${process.env.ASICD_DOCTOR_ROOT}/dev`,
        sys: `${process.env.ASICD_DOCTOR_ROOT}/sys`,
        cmdline: `${process.env.ASICD_DOCTOR_ROOT}/proc/cmdline`,
      }
    : undefined;
  const report = await doctor(board, roots, values.bridge ? { bridgeLink: values.bridge } : {});
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report, board));
  return report.ready ? 0 : 1;
}
