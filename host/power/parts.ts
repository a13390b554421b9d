/**
 * From a board's PowerSpec and its buses to the capabilities PowerController sequences: the regulator
 * driver (TPS546 with the profile's init table, DS4432U), the monitor (INA260 or the regulator's own
 * telemetry). Code asks for capabilities; nothing here knows a board by name.
 */
import type { PowerSpec } from '../../boards/types.ts';
import { Ds4432u } from '../../drivers/power/ds4432u.ts';
import { Ina260 } from '../../drivers/power/ina260.ts';
import { Tps546 } from '../../drivers/power/tps546.ts';
import type { I2cBus } from '../../drivers/transport/contract.ts';
import type { MonitorCap, RegulatorCap } from './controller.ts';

export function regulatorFor(spec: PowerSpec, bus: I2cBus | undefined): RegulatorCap | undefined {
  const r = spec.regulator;
  if (r.kind === 'tps546') {
    if (!bus) throw new Error('power: a TPS546 board needs an I2C bus');
    const t = new Tps546(bus, r.address);
    return {
      name: t.name,
      identify: () => t.identify(),
      configure: () => t.configure(r.init),
      setVout: (v, w) => t.setVout(v, w),
      on: () => t.on(),
      off: () => t.off(),
      clearFaults: () => t.clearFaults(),
      status: () => t.status(),
      telemetry: () => t.telemetry(),
    };
  }
  if (r.kind === 'ds4432u') {
    if (!bus) throw new Error('power: a DS4432U board needs an I2C bus');
    const d = new Ds4432u(bus, r.address);
    return { name: d.name, identify: () => d.identify(), setVout: (v, w) => d.setVout(v, w) };
  }
  return undefined;
}

export function monitorFor(spec: PowerSpec, bus: I2cBus | undefined): MonitorCap | undefined {
  const m = spec.monitor;
  if (m.kind === 'ina260') {
    if (!bus) throw new Error('power: an INA260 needs an I2C bus');
    const d = new Ina260(bus, m.address);
    return { name: d.name, identify: () => d.identify(), read: () => d.read() };
  }
  return undefined;
}
