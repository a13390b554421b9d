/**
 * Emulated GPIO lines (a Pi header, a bridge MCU's pins): electrical levels by line number, with pulls
 * for undriven inputs and listeners, behind the same GpioPort shape the host drivers implement
 * (drivers/transport/contract.ts; firmware/ does not import it). Outputs driven by the board (PGOOD)
 * are set with `drive()`; the host may not write them.
 */
export type LineListener = (line: number, high: boolean) => void;

export class EmulatedGpio {
  readonly path: string;
  private readonly levels = new Map<number, boolean>();
  private readonly inputs = new Set<number>();
  private readonly listeners = new Set<LineListener>();
  private closed = false;
  /** Writes done (tests and benches). */
  writes = 0;

  constructor(path = 'sim:gpio', pulls: Record<number, boolean> = {}) {
    this.path = path;
    for (const [line, high] of Object.entries(pulls)) this.levels.set(Number(line), high);
  }

  /** The board drives this line (an input for the host). */
  drive(line: number, high: boolean): void {
    this.inputs.add(line);
    this.levels.set(line, high);
  }

  level(line: number): boolean {
    return this.levels.get(line) ?? false;
  }

  onChange(fn: LineListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async set(line: number, high: boolean): Promise<void> {
    if (this.closed) throw Object.assign(new Error(`${this.path}: closed`), { code: 'closed' });
    if (this.inputs.has(line))
      throw Object.assign(new Error(`${this.path}: line ${line} is an input driven by the board`), {
        code: 'io',
      });
    this.writes++;
    const before = this.levels.get(line);
    this.levels.set(line, high);
    if (before !== high) for (const l of [...this.listeners]) l(line, high);
  }

  async get(line: number): Promise<boolean> {
    if (this.closed) throw Object.assign(new Error(`${this.path}: closed`), { code: 'closed' });
    return this.level(line);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
