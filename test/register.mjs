// `npm test` preloads this into the test runner and every test process: on Node ≥ 22.18 / 24 the
// sources run with Node's own type stripping (as bin/asicd.js runs them); older Node (20) registers tsx.
if (!process.features.typescript) {
  const { register } = await import('tsx/esm/api');
  register();
}
