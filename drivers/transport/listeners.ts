/**
 * A tiny typed listener list used by the transports (no EventEmitter: no 'error' special case, no
 * max-listener warnings, a listener that throws does not stop the others).
 */
import type { Unsubscribe } from './contract.ts';

export class Listeners<T extends unknown[]> {
  private list: Array<(...args: T) => void> = [];
  add(fn: (...args: T) => void): Unsubscribe {
    this.list = [...this.list, fn];
    return () => {
      this.list = this.list.filter((f) => f !== fn);
    };
  }
  emit(...args: T): void {
    for (const fn of this.list) {
      try {
        fn(...args);
      } catch {
        // Listener bugs are the listener's problem; delivery to the others continues.
      }
    }
  }
  get size(): number {
    return this.list.length;
  }
  clear(): void {
    this.list = [];
  }
}
