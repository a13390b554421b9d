/**
 * Child-process helper for uart.test.ts: opens argv[2] with UartTransport and prints the outcome as one
 * JSON line. Run under another uid to exercise a real EACCES (root bypasses file permissions).
 */
import { TransportError } from '../../drivers/transport/contract.ts';
import { UartTransport } from '../../drivers/transport/uart.ts';

const t = new UartTransport({ path: process.argv[2]! });
try {
  await t.open();
  await t.close();
  console.log(JSON.stringify({ ok: true }));
} catch (err) {
  const e = err as TransportError;
  console.log(
    JSON.stringify({
      ok: false,
      isTransportError: err instanceof TransportError,
      code: e.code,
      message: e.message,
    }),
  );
}
