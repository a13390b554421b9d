/**
 * A chain behind an SPI-to-UART bridge: the chain actor runs on Sc16is7xxUart, whose SpiBus is the
 * register-level SC16IS752 stand-in (no SPI on the test machine), whose UART pins are wired to the
 * independent BM13xx emulator. The 14.7456 MHz crystal cannot make 1 Mbaud, so the chain must stay at
 * 115200 — checked with the emulator's strict-baud mode, which drops bytes on a rate mismatch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bm13xxChain, FAST_TIMING, type NonceEvent } from '../../drivers/bm13xx/chain.ts';
import { Sc16is7xxUart } from '../../drivers/transport/sc16is7xx.ts';
import { createEmulatedChain } from '../../firmware/bm13xx/index.ts';
import { systemClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { waitFor } from '../helpers/net.ts';
import { Sc16is7xxEmulator } from '../transport/sc16is7xx-emulator.ts';

describe('BM13xx chain behind an SC16IS752 bridge', () => {
  it('BM1370 × 2 on bridge channel 1: enumerates, keeps 115200, receives nonces', async () => {
    const spi = new Sc16is7xxEmulator();
    const emu = createEmulatedChain({ model: 'BM1370', chips: 2, easyBits: 14, strictBaud: true });
    await emu.open();
    // Wire the bridge's channel-1 pins to the chip chain.
    spi.onLine = (ch, bytes) => {
      if (ch === 1) void emu.write(Uint8Array.from(bytes));
    };
    emu.onData((chunk) => spi.inject(1, chunk));
    const uart = new Sc16is7xxUart({ spi, channel: 1, clock: systemClock, pollMs: 1 });
    const log = memoryLogger('info');
    const chain = new Bm13xxChain({
      model: 'BM1370',
      transport: uart,
      expectedChips: 2,
      ticketDifficulty: 1,
      timing: FAST_TIMING,
      pollIntervalMs: 0,
      logger: log,
    });
    const nonces: NonceEvent[] = [];
    chain.on('nonce', (n) => nonces.push(n));
    try {
      const info = await chain.init();
      assert.equal(info.chips, 2);
      assert.equal(info.baudRate, 115_200);
      assert.ok(log.records.some((r) => r.event === 'chain.baud.kept'));
      assert.equal(spi.ch[1]!.baud(14_745_600), 115_200);
      const id = await chain.sendJob({
        version: 0x20000000,
        nbits: 0x1d00ffff,
        ntime: 1,
        startingNonce: 0,
        merkleRoot: new Uint8Array(32).fill(9),
        prevHash: new Uint8Array(32).fill(1),
      });
      await waitFor(() => nonces.length >= 3, 'nonces through the bridge', 30_000);
      assert.ok(nonces.every((n) => n.jobId === id));
      assert.equal(emu.stats.baudMismatchBytes, 0, 'host and chips agree on the rate');
      assert.deepEqual(spi.errors, []);
      assert.equal(spi.ch[1]!.txOverflow, 0);
    } finally {
      await chain.stop();
      await uart.close();
      await emu.close();
    }
  });
});
