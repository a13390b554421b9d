/**
 * SPI and I2C bus openers on this machine: the optional native modules may or may not load, and there is
 * no /dev/spidev* or /dev/i2c-* here, so opening must fail with a TransportError that names the path and
 * a fix — never crash. (Real transfers need hardware; the SC16IS7xx tests cover the SpiBus consumer.)
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { TransportError } from '../../drivers/transport/contract.ts';
import { classify, transportError } from '../../drivers/transport/errors.ts';
import { openI2c } from '../../drivers/transport/i2c.ts';
import { openSpi } from '../../drivers/transport/spi.ts';

describe('SPI / I2C openers without hardware', () => {
  it('SPI: a missing spidev is not-found (or unsupported without the module), naming the path and a fix', async (t) => {
    if (existsSync('/dev/spidev9.7')) return t.skip('device unexpectedly present');
    await assert.rejects(openSpi({ bus: 9, device: 7 }), (e: unknown) => {
      assert.ok(e instanceof TransportError);
      assert.ok(['not-found', 'unsupported'].includes(e.code), e.code);
      assert.equal(e.path, '/dev/spidev9.7');
      assert.match(e.message, /\/dev\/spidev9\.7/);
      assert.ok(e.fix && /SPI/.test(e.fix));
      return true;
    });
  });

  it('I2C: a missing i2c-dev is not-found (or unsupported without the module), naming the path and a fix', async (t) => {
    if (existsSync('/dev/i2c-97')) return t.skip('device unexpectedly present');
    await assert.rejects(openI2c(97), (e: unknown) => {
      assert.ok(e instanceof TransportError);
      assert.ok(['not-found', 'unsupported'].includes(e.code), e.code);
      assert.match(e.message, /\/dev\/i2c-97/);
      assert.ok(e.fix && /I2C/.test(e.fix));
      return true;
    });
  });

  it('error classification by errno and by serialport message text', () => {
    assert.equal(classify({ code: 'ENOENT' }), 'not-found');
    assert.equal(classify({ code: 'EACCES' }), 'permission');
    assert.equal(classify({ code: 'EBUSY' }), 'busy');
    assert.equal(
      classify(new Error('Error: No such file or directory, cannot open /dev/ttyS9')),
      'not-found',
    );
    assert.equal(classify(new Error('Error Resource temporarily unavailable Cannot lock port')), 'busy');
    assert.equal(classify(new Error('Error: Permission denied, cannot open /dev/ttyAMA0')), 'permission');
    assert.equal(
      classify(Object.assign(new Error('bad file descriptor'), { disconnected: true })),
      'unplugged',
    );
    assert.equal(classify(new Error('something odd')), 'io');
    const e = transportError('/dev/ttyUSB0', { code: 'EACCES', message: 'EACCES: permission denied' });
    assert.match(e.message, /^\/dev\/ttyUSB0: permission denied: .*dialout/);
  });
});
