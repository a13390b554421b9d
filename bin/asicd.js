#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx asicd` works right after `npm ci`
// with no build step to remember.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../host/cli.ts');
process.exitCode = await main(process.argv.slice(2));
