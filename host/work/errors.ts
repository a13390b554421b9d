/** Errors of the work engine. Every one names the field that was wrong, so a log line says what to fix. */
export class WorkError extends Error {
  override readonly name = 'WorkError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** The extranonce2 space of a job is used up: report it and wait for new work, never repeat work. */
export class Extranonce2ExhaustedError extends WorkError {
  constructor(size: number) {
    super(
      'extranonce2',
      `all ${2n ** BigInt(8 * size)} values of a ${size}-byte extranonce2 are used for this job`,
    );
  }
}
