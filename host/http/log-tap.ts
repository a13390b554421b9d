/**
 * Recent log lines for the dashboard and the event stream: a bounded ring that the process logger
 * writes into (host/miner/app.ts tees every line here) and listeners that the stream subscribes.
 */
export type LogListener = (line: string) => void;

export class LogTap {
  private readonly lines: string[] = [];
  private readonly listeners = new Set<LogListener>();
  readonly capacity: number;

  constructor(capacity = 200) {
    this.capacity = capacity;
  }

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.shift();
    for (const l of this.listeners) {
      try {
        l(line);
      } catch {}
    }
  }

  recent(n = this.capacity): string[] {
    return this.lines.slice(-n);
  }

  subscribe(l: LogListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
