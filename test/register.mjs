// `npm test` preloads this into the test runner and every test process: on Node ≥ 22.18 / 24 the
// sources run with Node's own type stripping (as bin/asicd.js runs them); older Node (20) registers tsx.
if (!process.features.typescript) {
  const { register } = await import('tsx/esm/api');
  register();
}

// In each test file's own process (the runner sets NODE_TEST_CONTEXT there): a file that is still alive
// 120 s after its last test left something open (a server, a timer, an emulator hashing). Instead of
// hanging the whole run until CI's time limit, name what is open and fail the file.
if (process.env.NODE_TEST_CONTEXT?.startsWith('child')) {
  const { after } = await import('node:test');
  after(() => {
    setTimeout(() => {
      process.stderr.write(
        `test file still running 120 s after its last test; open: ${JSON.stringify(process.getActiveResourcesInfo())}\n`,
      );
      process.exit(1);
    }, 120_000).unref();
  });
}
