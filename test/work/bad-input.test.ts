/** Bad input: each gives a WorkError naming the field, never an exception from deep inside. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildTemplate,
  checkNonce,
  decodeExtranonce2,
  Extranonce2Counter,
  Extranonce2ExhaustedError,
  encodeExtranonce2,
  makeWork,
  type NotifyJob,
  WorkError,
} from '../../host/work/index.ts';

const good: NotifyJob = {
  jobId: 'j1',
  prevhash: '00'.repeat(32),
  coinb1: '01000000',
  coinb2: 'ffffffff',
  merkleBranch: ['aa'.repeat(32)],
  version: '20000000',
  nbits: '1d00ffff',
  ntime: '65000000',
  cleanJobs: true,
};
const session = { extranonce1: 'deadbeef', extranonce2Size: 4 };

function throwsField(fn: () => unknown, field: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof WorkError, `expected WorkError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.ok(e.message.startsWith(`${field}: `), e.message);
    return true;
  });
}

describe('bad input', () => {
  const cases: Array<[string, Partial<NotifyJob>, string]> = [
    ['prevhash not hex', { prevhash: 'zz'.repeat(32) }, 'prevhash'],
    ['prevhash too short', { prevhash: '00'.repeat(31) }, 'prevhash'],
    ['prevhash odd length', { prevhash: '0'.repeat(63) }, 'prevhash'],
    ['coinb1 odd length', { coinb1: '010' }, 'coinb1'],
    ['coinb2 not a string', { coinb2: 42 as unknown as string }, 'coinb2'],
    ['version 7 digits', { version: '2000000' }, 'version'],
    ['nbits not hex', { nbits: '1d00fffg' }, 'nbits'],
    ['ntime missing', { ntime: undefined as unknown as string }, 'ntime'],
    ['branch of 31 bytes', { merkleBranch: ['aa'.repeat(31)] }, 'merkle_branch[0]'],
    ['second branch of 33 bytes', { merkleBranch: ['aa'.repeat(32), 'bb'.repeat(33)] }, 'merkle_branch[1]'],
    [
      'second branch with a non-hex digit',
      { merkleBranch: ['aa'.repeat(32), `${'bb'.repeat(31)}bg`] },
      'merkle_branch[1]',
    ],
    ['branch with a non-ASCII digit', { merkleBranch: [`${'cc'.repeat(31)}c\u0660`] }, 'merkle_branch[0]'],
    ['coinb2 with a non-hex digit', { coinb2: '02zz' }, 'coinb2'],
    ['branch not an array', { merkleBranch: 'aa' as unknown as string[] }, 'merkle_branch'],
    ['10 000 branches', { merkleBranch: Array(10_000).fill('aa'.repeat(32)) }, 'merkle_branch'],
    ['empty job id', { jobId: '' }, 'job_id'],
  ];
  for (const [name, patch, field] of cases) {
    it(`${name} → ${field}`, () => throwsField(() => buildTemplate({ ...good, ...patch }, session), field));
  }

  for (const size of [0, 1, 17, 64, 2.5, Number.NaN]) {
    it(`extranonce2_size ${size} → extranonce2_size`, () =>
      throwsField(() => buildTemplate(good, { ...session, extranonce2Size: size }), 'extranonce2_size'));
  }

  it('extranonce1 not hex → extranonce1', () =>
    throwsField(() => buildTemplate(good, { ...session, extranonce1: 'xy' }), 'extranonce1'));

  for (const d of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`difficulty ${d} → difficulty`, () =>
      throwsField(() => buildTemplate(good, session, { difficulty: d }), 'difficulty'));
  }

  it('extranonce2 hex of the wrong length → extranonce2', () => {
    const tpl = buildTemplate(good, session);
    throwsField(() => makeWork(tpl, '000000'), 'extranonce2');
    throwsField(() => decodeExtranonce2('0000000000', 4), 'extranonce2');
    throwsField(() => encodeExtranonce2(2n ** 32n, 4), 'extranonce2');
  });

  it('asking for 4 midstates without a version mask → versionMask', () => {
    const tpl = buildTemplate(good, session);
    throwsField(() => makeWork(tpl, 0, { versions: 4 }), 'versionMask');
  });

  it('a version outside the mask is a hardware error with a reason, not a share', () => {
    const tpl = buildTemplate(good, session, { difficulty: 1e-12, versionMask: 0x1fffe000 });
    const w = makeWork(tpl, 0);
    const r = checkNonce(w, 1, { version: 0x60000000 });
    assert.equal(r.kind, 'hw-error');
    assert.match(r.reason ?? '', /outside the mask/);
  });
});

describe('extranonce2 counter', () => {
  it('starts at 0 for every job and increments', () => {
    const c = new Extranonce2Counter(4);
    assert.equal(c.next(), 0n);
    assert.equal(c.next(), 1n);
    assert.equal(new Extranonce2Counter(4).next(), 0n);
  });

  it('lanes: start, start + step, … and a lane outside its step is refused', () => {
    const c = new Extranonce2Counter(4, 2, 3);
    assert.deepEqual([c.next(), c.next(), c.next()], [2n, 5n, 8n]);
    assert.throws(() => new Extranonce2Counter(4, 3, 3), WorkError);
  });

  it('exhaustion is an error to report, never a silent wrap', () => {
    const c = new Extranonce2Counter(2);
    for (let i = 0; i < 65536; i++) c.next();
    assert.throws(() => c.next(), Extranonce2ExhaustedError);
    assert.throws(() => c.next(), Extranonce2ExhaustedError);
  });
});
