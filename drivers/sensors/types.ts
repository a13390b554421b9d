/**
 * The sensor and fan interfaces the thermal controller (host/thermal) uses. Every concrete driver —
 * EMC2101, TMP1075/LM75/TMP75 over I2C, a Firmata I/O board through johnny-five — is wrapped behind
 * these, so the controller never knows which part it talks to.
 */
export interface TemperatureSensor {
  /** Stable, human-readable name used in status and logs, e.g. "emc2101@/dev/i2c-1:0x4c/external". */
  readonly name: string;
  /**
   * This sensor's own limit (°C), when it is not a chip temperature (a regulator's VR temperature):
   * the thermal monitor compares it against this limit instead of the chip limit.
   */
  readonly limitC?: number;
  /** One reading in °C. Rejects with SensorError on any failure (never returns NaN). */
  readTemperature(): Promise<number>;
}

export interface FanDriver {
  readonly name: string;
  /** Sets the fan drive, 0..100 %. Rejects with SensorError when the write fails. */
  setDuty(percent: number): Promise<void>;
  /** Fan speed in RPM from the tach; `undefined` when this fan has no tach. Rejects on bus failure. */
  readRpm(): Promise<number | undefined>;
}

/** Parts that need an init step (id check, configuration) before the first reading. */
export interface Initializable {
  init(): Promise<void>;
}
