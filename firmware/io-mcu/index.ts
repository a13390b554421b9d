/** The emulated Firmata I/O microcontroller (thermistor, PWM fan, tach) and its serial-port server. */
export { FIRMWARE_NAME, FirmataMcu, type FirmataMcuOptions, MODE, PROTOCOL_VERSION } from './firmata-mcu.ts';
export { type ServedMcu, serveFirmataMcu, serveFirmataMcuOnPty } from './serve.ts';
