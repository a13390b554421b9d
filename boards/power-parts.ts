/**
 * Power parts of the board profiles, as data: regulator init tables, GPIO lines, USB bridges.
 * Every value cites boards.md (which cites ESP-Miner, piaxe-miner, qaxe, mujina); choices on open
 * questions are recorded in boards/REFERENCE.md.
 */
import type { InputLimitSpec, PowerSpec, RegulatorSpec, Tps546InitStep, UsbBridgeSpec } from './types.ts';

/**
 * TPS546D24A init for single-chip Bitaxes (ESP-Miner TPS546.c:384-404,528-683; vcore.c:20-83), written
 * with the output off. ON_OFF_CONFIG ends at 0x1B (ESP-Miner; open question 1). PHASE and COMPENSATION
 * are left at the part's defaults (their values are not in the reference). VOUT_COMMAND is not part of
 * the table: bring-up writes the configured voltage after a range check. Limits are absolute volts
 * (open question 2).
 */
export const TPS546_SINGLE_CHIP_INIT: Tps546InitStep[] = [
  { cmd: 'OPERATION', format: 'byte', value: 0x00 },
  { cmd: 'ON_OFF_CONFIG', format: 'byte', value: 0x1f },
  { cmd: 'ON_OFF_CONFIG', format: 'byte', value: 0x1b },
  { cmd: 'STACK_CONFIG', format: 'word', value: 0x0000 },
  { cmd: 'SYNC_CONFIG', format: 'byte', value: 0x10 },
  { cmd: 'FREQUENCY_SWITCH', format: 'slinear11-int', value: 650 },
  { cmd: 'VIN_ON', format: 'slinear11', value: 4.8 },
  { cmd: 'VIN_OFF', format: 'slinear11', value: 4.5 },
  { cmd: 'VIN_OV_FAULT_LIMIT', format: 'slinear11', value: 6.5 },
  { cmd: 'VIN_OV_FAULT_RESPONSE', format: 'byte', value: 0xb7 },
  { cmd: 'VOUT_SCALE_LOOP', format: 'slinear11', value: 0.25 },
  { cmd: 'VOUT_MAX', format: 'ulinear16', value: 2.0 },
  { cmd: 'VOUT_MIN', format: 'ulinear16', value: 1.0 },
  { cmd: 'VOUT_OV_FAULT_LIMIT', format: 'ulinear16', value: 1.25 },
  { cmd: 'VOUT_OV_WARN_LIMIT', format: 'ulinear16', value: 1.16 },
  { cmd: 'VOUT_MARGIN_HIGH', format: 'ulinear16', value: 1.1 },
  { cmd: 'VOUT_MARGIN_LOW', format: 'ulinear16', value: 0.9 },
  { cmd: 'VOUT_UV_WARN_LIMIT', format: 'ulinear16', value: 0.9 },
  { cmd: 'VOUT_UV_FAULT_LIMIT', format: 'ulinear16', value: 0.75 },
  { cmd: 'IOUT_OC_WARN_LIMIT', format: 'slinear11', value: 25 },
  { cmd: 'IOUT_OC_FAULT_LIMIT', format: 'slinear11', value: 30 },
  { cmd: 'IOUT_OC_FAULT_RESPONSE', format: 'byte', value: 0xc0 },
  { cmd: 'OT_WARN_LIMIT', format: 'slinear11-int', value: 105 },
  { cmd: 'OT_FAULT_LIMIT', format: 'slinear11-int', value: 145 },
  { cmd: 'OT_FAULT_RESPONSE', format: 'byte', value: 0xff },
  { cmd: 'TON_DELAY', format: 'slinear11-int', value: 0 },
  { cmd: 'TON_RISE', format: 'slinear11-int', value: 3 },
  { cmd: 'TON_MAX_FAULT_LIMIT', format: 'slinear11-int', value: 0 },
  { cmd: 'TON_MAX_FAULT_RESPONSE', format: 'byte', value: 0x3b },
  { cmd: 'TOFF_DELAY', format: 'slinear11-int', value: 0 },
  { cmd: 'TOFF_FALL', format: 'slinear11-int', value: 0 },
  { cmd: 'PIN_DETECT_OVERRIDE', format: 'word', value: 0xffff },
  { cmd: 'CLEAR_FAULTS', format: 'send' },
];

export const TPS546_GAMMA: RegulatorSpec = {
  kind: 'tps546',
  address: 0x24,
  init: TPS546_SINGLE_CHIP_INIT,
  voutMinV: 1.0,
  voutMaxV: 2.0,
  otFaultC: 145,
};

/** Pi header GPIO controller labels: Pi 0–3 (bcm2835), Pi 4 (bcm2711), Pi 5 (rp1; gpiochip0 or 4). */
export const PI_GPIO_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

/**
 * PiAxe (piaxe-miner piaxe.py:29-57,80-84; piaxe kicad): SDN BCM17 starts low, high = buck on; PGOOD
 * BCM27 input with pull-up, high = good; NRST BCM22 high = reset (drives an inverting BSS138 onto RST_N),
 * 0.5 s high then 0.5 s low. Fixed 1.2 V core; the host polls PGOOD once a second.
 */
export const PIAXE_POWER: PowerSpec = {
  gpio: { kind: 'pi', labels: PI_GPIO_LABELS },
  regulator: { kind: 'fixed', mv: 1200 },
  monitor: { kind: 'none' },
  enable: { line: 17, activeLow: false, label: 'SDN (BCM17, pin 11)' },
  pgood: { line: 27, activeLow: false, label: 'PGOOD (BCM27, pin 13)' },
  reset: { line: 22, activeLow: false, label: 'NRST (BCM22, pin 15)', assertMs: 500, releaseMs: 500 },
  settleMs: 100,
  pgoodTimeoutMs: 5000,
};

/** bitaxe-raw on a Bitaxe's ESP32-S3: "OSMU"/"Bitaxe", control CDC first (mujina board/bitaxe.rs). */
export const BITAXE_RAW_BRIDGE: UsbBridgeSpec = {
  protocol: 'bitaxe-raw',
  manufacturer: 'OSMU',
  product: 'Bitaxe',
  controlInterface: 0,
  dataInterface: 2,
  replyVersion: 0,
};

/** QAxe/QAxe+ STM32L072: c0de:caff "Microengineer"/"Qaxe"; CDC#1 ASIC relay, CDC#2 control (qaxe.rs:108-144). */
export const QAXE_BRIDGE: UsbBridgeSpec = {
  protocol: 'qaxe',
  vid: 0xc0de,
  pid: 0xcaff,
  manufacturer: 'Microengineer',
  product: 'Qaxe',
  controlInterface: 2,
  dataInterface: 0,
};

/**
 * Input limits of the DS4432U-trimmed Bitaxes (Ultra, Supra, Max), checked by the host against the
 * INA260's input readings (their buck reports no fault and has no PGOOD line). No stored source gives
 * the supply, fuse or connector rating of these boards (boards.md lists none), so this is a documented,
 * conservative choice: 5 A / 25 W at the 5 V input — the rating of a 5.5×2.1 mm barrel jack and of the
 * 5 V supplies these boards run from, about 1.7× a board's normal draw (11–15 W) so a frequency or
 * voltage step never trips it, and well below what overheats the input path. 2 s above the limit
 * (readings every 250 ms) before the stop, so a start-up transient does not latch. REFERENCE.md records
 * the choice (host/power).
 */
export const DS4432U_BITAXE_INPUT_LIMIT: InputLimitSpec = {
  maxA: 5,
  maxW: 25,
  debounceMs: 2000,
  sampleMs: 250,
  source: 'asicd choice (no supply/fuse rating in the sources): 5 V barrel-jack supply class, 5 A / 25 W',
};

/**
 * Bitaxe over bitaxe-raw: reset = GPIO 0, active-low (mujina: write Low = hold). ASIC_ENABLE (DS4432U
 * boards, active-low on the ESP32) is bridged as GPIO 1: an assumption — bitaxe-raw GPIO numbers vary by
 * firmware (boards.md §5.7); REFERENCE.md records it. Reset pulse 100 ms/100 ms (ESP-Miner asic_reset.c).
 */
export function bitaxeRawPower(regulator: RegulatorSpec, ds4432u: boolean): PowerSpec {
  return {
    gpio: { kind: 'bridge' },
    regulator,
    monitor: ds4432u ? { kind: 'ina260', address: 0x40 } : { kind: 'regulator' },
    ...(ds4432u ? { enable: { line: 1, activeLow: true, label: 'ASIC_ENABLE (bridge GPIO 1)' } } : {}),
    reset: { line: 0, activeLow: true, label: 'ASIC_RST (bridge GPIO 0)', assertMs: 100, releaseMs: 100 },
    settleMs: 500,
    pgoodTimeoutMs: 2000,
    vrMaxTempC: 105,
    ...(ds4432u ? { inputLimit: DS4432U_BITAXE_INPUT_LIMIT } : {}),
  };
}

/** QAxe: the bridge firmware sequences RUN/LDO/RESET on Reset and Shutdown (qaxe.rs:329-363). */
export const QAXE_POWER: PowerSpec = {
  gpio: { kind: 'bridge' },
  regulator: { kind: 'bridge', mv: 1200 },
  monitor: { kind: 'none' },
  settleMs: 0,
  pgoodTimeoutMs: 5000,
};
