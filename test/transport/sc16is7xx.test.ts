/**
 * SC16IS7xx bridge driver against a register-level emulator of the part (test/transport/
 * sc16is7xx-emulator.ts). Unit level by necessity: the test machine has no SPI bus.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TransportError } from '../../drivers/transport/contract.ts';
import { Sc16is7xxUart, sc16Address, sc16Divisor } from '../../drivers/transport/sc16is7xx.ts';
import { ManualClock } from '../../lib/clock.ts';
import { Sc16is7xxEmulator } from './sc16is7xx-emulator.ts';

const XTAL = 14_745_600;

async function settle(clock: ManualClock, ms = 20): Promise<void> {
  await clock.advanceAsync(ms, 1);
}

describe('SC16IS7xx bridge UART', () => {
  it('address byte and divisor math (datasheet)', () => {
    assert.equal(sc16Address(0x09, 1, true), 0x80 | (0x09 << 3) | (1 << 1)); // RXLVL ch B read = 0xCA
    assert.equal(sc16Address(0x00, 0, false), 0x00);
    assert.equal(sc16Divisor(XTAL, 115_200).divisor, 8);
    assert.equal(sc16Divisor(XTAL, 921_600).divisor, 1);
    assert.ok(sc16Divisor(XTAL, 1_000_000).error > 0.07);
  });

  for (const channel of [0, 1] as const) {
    it(`channel ${channel}: programs 8N1 and the divisor, moves data both ways in order (polled)`, async () => {
      const spi = new Sc16is7xxEmulator();
      const clock = new ManualClock();
      const u = new Sc16is7xxUart({ spi, channel, clock, crystalHz: XTAL });
      await u.open();
      const c = spi.ch[channel]!;
      const other = spi.ch[1 - channel]!;
      assert.equal(u.path, `/dev/spidev0.0:uart${channel}`);
      assert.equal(c.lcr, 0x03);
      assert.equal(c.baud(XTAL), 115_200);
      assert.equal(c.fifoEnabled, true);
      assert.equal(other.lcr, 0x1d, 'the other channel is untouched');

      const got: number[] = [];
      u.onData((b) => got.push(...b));
      const frame = Uint8Array.from({ length: 152 }, (_, i) => (i * 7) & 0xff);
      const w1 = u.write(frame);
      const w2 = u.write(Uint8Array.of(1, 2, 3));
      for (let i = 0; i < 50 && c.line.length + c.tx.length < 155; i++) await settle(clock);
      await Promise.all([w1, w2]);
      for (let i = 0; i < 10 && c.tx.length; i++) await spi.transfer(Uint8Array.of(0x80 | (0x07 << 3), 0));
      assert.deepEqual(c.line.slice(0, 155), [...frame, 1, 2, 3]);
      assert.equal(c.txOverflow, 0, 'never wrote past the FIFO space TXLVL reported');
      assert.ok(c.txlvlReads >= 3, 'flow-controlled by TXLVL');

      spi.inject(channel, [0xaa, 0x55, 0x13, 0x70]);
      await settle(clock);
      spi.inject(channel, [0x00, 0x00, 0x00]);
      await settle(clock);
      assert.deepEqual(got, [0xaa, 0x55, 0x13, 0x70, 0, 0, 0]);
      assert.deepEqual(spi.errors, []);
      await u.close();
      assert.equal(clock.pending(), 0, 'polling stopped');
      await assert.rejects(u.write(Uint8Array.of(1)), (e: TransportError) => e.code === 'closed');
    });
  }

  it('interrupt-driven reading acknowledges IIR and drains RXLVL', async () => {
    const spi = new Sc16is7xxEmulator();
    const clock = new ManualClock();
    const u = new Sc16is7xxUart({ spi, clock, irq: spi.irqLine });
    await u.open();
    assert.equal(spi.ch[0]!.ier & 1, 1, 'RHR interrupt enabled');
    assert.equal(clock.pending(), 0, 'no polling timer in IRQ mode');
    const got: number[] = [];
    u.onData((b) => got.push(...b));
    spi.inject(
      0,
      Array.from({ length: 40 }, (_, i) => i),
    );
    await settle(clock);
    assert.deepEqual(
      got,
      Array.from({ length: 40 }, (_, i) => i),
    );
    await u.close();
  });

  it('baud switch: reachable rates reprogram the divisor, unreachable ones are refused before touching the chip', async () => {
    const spi = new Sc16is7xxEmulator();
    const clock = new ManualClock();
    const u = new Sc16is7xxUart({ spi, clock, crystalHz: XTAL });
    await u.open();
    await u.setBaudRate(921_600);
    assert.equal(spi.ch[0]!.baud(XTAL), 921_600);
    assert.equal(u.supportsBaudRate(1_000_000), false);
    await assert.rejects(u.setBaudRate(1_000_000), (e: TransportError) => {
      assert.equal(e.code, 'unsupported');
      assert.match(e.message, /1000000 baud.*14\.7456 MHz/);
      assert.match(e.message, /16 MHz/);
      return true;
    });
    assert.equal(spi.ch[0]!.baud(XTAL), 921_600, 'unchanged');
    // With a 16 MHz crystal, 1 Mbaud is exact (but 115200 is 3.5 % off, so refused at open).
    const bad = new Sc16is7xxUart({ spi, channel: 1, clock, crystalHz: 16_000_000 });
    await assert.rejects(bad.open(), (e: TransportError) => e.code === 'unsupported');
    const u16 = new Sc16is7xxUart({ spi, channel: 1, clock, crystalHz: 16_000_000, baudRate: 500_000 });
    await u16.open();
    await u16.setBaudRate(1_000_000);
    assert.equal(spi.ch[1]!.baud(16_000_000), 1_000_000);
    await u.close();
    await u16.close();
  });

  it('flush resets the RX FIFO', async () => {
    const spi = new Sc16is7xxEmulator();
    const clock = new ManualClock();
    const u = new Sc16is7xxUart({ spi, clock });
    await u.open();
    spi.inject(0, [1, 2, 3]);
    await u.flush();
    assert.equal(spi.ch[0]!.rx.length, 0);
    await u.close();
  });

  it('missing bridge: not-found naming the SPI path; SPI failure mid-run: error + close', async () => {
    const spi = new Sc16is7xxEmulator('/dev/spidev0.1');
    spi.absent = true;
    const clock = new ManualClock();
    const u = new Sc16is7xxUart({ spi, clock });
    await assert.rejects(u.open(), (e: TransportError) => {
      assert.equal(e.code, 'not-found');
      assert.match(e.message, /\/dev\/spidev0\.1:uart0/);
      assert.match(e.message, /raspi-config/);
      return true;
    });
    spi.absent = false;
    await u.open();
    const errs: TransportError[] = [];
    let closed = 0;
    u.onError((e) => errs.push(e));
    u.onClose(() => closed++);
    spi.failWith = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    await settle(clock);
    assert.equal(errs.length, 1);
    assert.equal(errs[0]!.code, 'io');
    assert.equal(closed, 1);
    assert.equal(u.isOpen, false);
    assert.equal(clock.pending(), 0);
  });
});
