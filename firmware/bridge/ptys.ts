/**
 * An emulated USB-bridge board (board.ts) served on two pty pairs like the real board's two CDC ports:
 * `<link>.control` (the bridge MCU) and `<link>.data` (the chips' UART, transparent) — what
 * `asicd sim --board` runs. Kept apart from board.ts so the in-process twins do not load serialport.
 */
import { SerialPort } from 'serialport';
import { openPtyPair, type PtyPair } from '../pty-pair.ts';
import type { EmulatedBridgeBoard } from './board.ts';

/** Serves an EmulatedBridgeBoard on `<link>.control` and `<link>.data`; unplug()/replug() for tests. */
export class BridgeBoardPtys {
  readonly board: EmulatedBridgeBoard;
  readonly link: string;
  private ctl: { pair: PtyPair; port: SerialPort } | undefined;
  private data: { pair: PtyPair; port: SerialPort } | undefined;
  private unsubChain: (() => void) | undefined;
  plugged = false;

  constructor(board: EmulatedBridgeBoard, link: string) {
    this.board = board;
    this.link = link;
  }

  get controlPath(): string {
    return `${this.link}.control`;
  }
  get dataPath(): string {
    return `${this.link}.data`;
  }

  private async openPort(path: string): Promise<{ pair: PtyPair; port: SerialPort }> {
    const pair = await openPtyPair(path);
    const port = new SerialPort({ path: pair.inner, baudRate: 115200, autoOpen: false });
    try {
      await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    } catch (e) {
      await pair.stop();
      throw new Error(`pty: could not open ${pair.inner}: ${(e as Error).message}`);
    }
    port.on('error', () => {});
    return { pair, port };
  }

  /** Creates both ports (the board is "plugged in"). */
  async plug(): Promise<void> {
    if (this.plugged) return;
    const ctl = await this.openPort(this.controlPath);
    let data: { pair: PtyPair; port: SerialPort };
    try {
      data = await this.openPort(this.dataPath);
    } catch (e) {
      await closePort(ctl);
      throw e;
    }
    this.ctl = ctl;
    this.data = data;
    ctl.port.on('data', (b: Buffer) => this.board.controlIn(b));
    this.board.attachControl((f) => {
      if (ctl.port.isOpen) ctl.port.write(Buffer.from(f));
    });
    const chain = this.board.chain;
    if (!chain.isOpen) await chain.open();
    data.port.on('data', (b: Buffer) => {
      if (chain.isOpen) void chain.write(b);
    });
    this.unsubChain = chain.onData((c) => {
      if (data.port.isOpen) data.port.write(Buffer.from(c));
    });
    this.plugged = true;
  }

  /** Both ports vanish (USB cable pulled): the MCU loses power and its lines go to power-on levels. */
  async unplug(): Promise<void> {
    if (!this.plugged) return;
    this.plugged = false;
    this.unsubChain?.();
    this.board.attachControl(() => {});
    this.board.rebootMcu();
    const [c, d] = [this.ctl, this.data];
    this.ctl = this.data = undefined;
    if (c) await closePort(c);
    if (d) await closePort(d);
  }

  async stop(): Promise<void> {
    await this.unplug();
    await this.board.chain.close();
    this.board.close();
  }
}

async function closePort(p: { pair: PtyPair; port: SerialPort }): Promise<void> {
  if (p.port.isOpen) await new Promise<void>((res) => p.port.close(() => res()));
  await p.pair.stop();
}
