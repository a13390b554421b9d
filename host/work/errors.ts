/** Errors of the work engine. Every one names the field that was wrong, so a log line says what to fix. */
export class WorkError extends Error {
  override readonly name = 'WorkError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** A header-only job rolled ntime as far as allowed: wait for the pool's next job, never repeat work. */
export class HeaderOnlyExhaustedError extends WorkError {
  constructor(maxSeconds: number) {
    super('ntime', `header-only job: ntime rolled ${maxSeconds} s ahead, waiting for the pool's next job`);
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
