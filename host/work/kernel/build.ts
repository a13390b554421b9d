/**
 * Compiles the kernel's WAT (sha256d-wat.ts) to WebAssembly with wabt (a dev dependency: this file is
 * only imported by scripts/build-kernel.ts and the test that checks the committed sha256d.wasm).
 */
import { kernelWat } from './sha256d-wat.ts';

export async function buildKernel(): Promise<Uint8Array> {
  const { default: init } = await import('wabt');
  const wabt = await init();
  const mod = wabt.parseWat('sha256d.wat', kernelWat(), { simd: true });
  try {
    mod.validate();
    return Uint8Array.from(mod.toBinary({ write_debug_names: false }).buffer);
  } finally {
    mod.destroy();
  }
}
