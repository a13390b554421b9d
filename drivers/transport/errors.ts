/**
 * Turns operating-system and library errors into TransportErrors that name the device path and say how
 * to fix the problem. Node errors carry `code` (ENOENT, EACCES…); `serialport` open errors often carry
 * only a message ("No such file or directory, cannot open /dev/ttyX", "Cannot lock port"), so both are read.
 */
import { TransportError, type TransportErrorCode } from './contract.ts';

export const FIX: Readonly<Record<TransportErrorCode, string>> = Object.freeze({
  'not-found':
    'check the cable and power, list devices with `ls /dev/tty*`, and on a Raspberry Pi enable the UART in `raspi-config` (Interface Options → Serial Port); the daemon keeps retrying',
  permission:
    'add the user to the dialout group (`sudo usermod -aG dialout $USER`, then log in again) or fix the device permissions with a udev rule',
  busy: 'another program holds the port (a serial console, ModemManager, another asicd); stop it or disable the serial console in raspi-config',
  unplugged: 'the device disappeared; check the cable and power — the daemon reopens it when it comes back',
  io: 'I/O error on the device; check wiring, power and baud rate',
  closed: 'the link was closed; reopen it',
  unsupported: 'this machine lacks the driver or native module for this bus',
  timeout: 'the device did not answer in time; check power, reset and wiring',
});

const BY_ERRNO: Record<string, TransportErrorCode> = {
  ENOENT: 'not-found',
  ENODEV: 'not-found',
  ENXIO: 'not-found',
  EACCES: 'permission',
  EPERM: 'permission',
  EBUSY: 'busy',
  EAGAIN: 'busy',
  EWOULDBLOCK: 'busy',
  EIO: 'io',
  ETIMEDOUT: 'timeout',
};

/** Classifies an error by errno code or message text. */
export function classify(err: unknown): TransportErrorCode {
  const e = err as { code?: unknown; message?: unknown; disconnected?: unknown } | undefined;
  if (e?.disconnected === true) return 'unplugged';
  if (typeof e?.code === 'string' && BY_ERRNO[e.code]) return BY_ERRNO[e.code]!;
  const msg = String(e?.message ?? err);
  if (/no such file|not found|ENOENT|no such device/i.test(msg)) return 'not-found';
  if (/permission denied|EACCES|operation not permitted/i.test(msg)) return 'permission';
  if (/lock|busy|temporarily unavailable|EBUSY/i.test(msg)) return 'busy';
  if (/timed? ?out/i.test(msg)) return 'timeout';
  return 'io';
}

const WHAT: Record<TransportErrorCode, string> = {
  'not-found': 'device not found',
  permission: 'permission denied',
  busy: 'device busy or locked',
  unplugged: 'device unplugged',
  io: 'I/O error',
  closed: 'link closed',
  unsupported: 'not supported',
  timeout: 'timed out',
};

/** A TransportError for `err` on `path`, with the standard fix text. */
export function transportError(
  path: string,
  err: unknown,
  code: TransportErrorCode = classify(err),
  detail?: string,
  fix: string = FIX[code],
): TransportError {
  if (err instanceof TransportError) return err;
  const why = detail ?? String((err as { message?: unknown })?.message ?? err ?? '');
  return new TransportError(code, path, why ? `${WHAT[code]}: ${why}` : WHAT[code], fix, { cause: err });
}

/** The error writes get after close(). */
export function closedError(path: string): TransportError {
  return new TransportError('closed', path, 'link is closed', FIX.closed);
}
