/**
 * NTC thermistor codec (pure) for analog inputs of Firmata I/O boards: the beta equation
 * 1/T = 1/T0 + ln(R/R0)/β, and the voltage divider to an ADC count. Default part: 10 kΩ at 25 °C,
 * β = 3950 K, NTC from the analog pin to ground with a 10 kΩ series resistor to the reference
 * ("ntc-low"); "ntc-high" swaps them (the TinkerKit module wiring).
 */
export interface ThermistorParams {
  /** Resistance at t0, Ω. */
  r0: number;
  /** Reference temperature, °C. */
  t0: number;
  /** β constant, K. */
  beta: number;
  /** Fixed divider resistor, Ω. */
  seriesR: number;
  /** Highest ADC count (1023 for a 10-bit ADC). */
  adcMax: number;
  topology: 'ntc-low' | 'ntc-high';
}

export const DEFAULT_THERMISTOR: ThermistorParams = {
  r0: 10_000,
  t0: 25,
  beta: 3950,
  seriesR: 10_000,
  adcMax: 1023,
  topology: 'ntc-low',
};

const KELVIN = 273.15;

/** ADC count → °C; NaN when the count is at a rail (open or shorted thermistor). */
export function adcToCelsius(count: number, p: ThermistorParams = DEFAULT_THERMISTOR): number {
  if (!(count > 0 && count < p.adcMax)) return Number.NaN;
  const x = count / p.adcMax; // fraction of the reference on the pin
  const r = p.topology === 'ntc-low' ? (p.seriesR * x) / (1 - x) : (p.seriesR * (1 - x)) / x;
  const invT = 1 / (p.t0 + KELVIN) + Math.log(r / p.r0) / p.beta;
  return 1 / invT - KELVIN;
}

/** °C → ADC count (rounded). */
export function celsiusToAdc(celsius: number, p: ThermistorParams = DEFAULT_THERMISTOR): number {
  const r = p.r0 * Math.exp(p.beta * (1 / (celsius + KELVIN) - 1 / (p.t0 + KELVIN)));
  const x = p.topology === 'ntc-low' ? r / (r + p.seriesR) : p.seriesR / (r + p.seriesR);
  return Math.round(x * p.adcMax);
}
