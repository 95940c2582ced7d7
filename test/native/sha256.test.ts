// SHA-256 (native/sha256.cc): known answers from FIPS 180-4 / NIST, then
// node:crypto as the reference over every length around the block boundaries,
// random chunkings and a > 512 MiB stream (the bit length no longer fits 32
// bits). Both block functions — portable and SHA-NI — are run explicitly, and
// NODE_OSTREE_SHA256=portable is checked to switch what repository paths use.
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addon } from './helpers';

const info = addon.sha256_info();
const IMPLS = ['portable', 'sha-ni'] as const;

function ref(chunks: Buffer[], repeat = 1): string {
  const h = createHash('sha256');
  for (let r = 0; r < repeat; r++) for (const c of chunks) h.update(c);
  return h.digest('hex');
}

// NIST FIPS 180-4 examples (and the one-million-'a' long message).
const VECTORS: Array<[string, Buffer[], number, string]> = [
  ['empty', [Buffer.alloc(0)], 1, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['abc', [Buffer.from('abc')], 1, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['two-block', [Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')], 1,
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ['896-bit', [Buffer.from('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu')], 1,
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
  ['million a', [Buffer.alloc(1000, 'a')], 1000, 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
];

describe.each(IMPLS)('sha256 %s', (impl) => {
  const skip = impl === 'sha-ni' && !info.shaNi;
  it.skipIf(skip)('NIST known answers', () => {
    for (const [, chunks, repeat, hex] of VECTORS) {
      expect(addon.sha256_digest(chunks, { impl, repeat })).toBe(hex);
    }
  });

  it.skipIf(skip)('every length 0..300 (padding across block edges) matches node:crypto', () => {
    const data = randomBytes(300);
    for (let n = 0; n <= 300; n++) {
      const b = data.subarray(0, n);
      expect(addon.sha256_digest([b], { impl })).toBe(ref([b]));
    }
  });

  it.skipIf(skip)('random chunkings of a multi-block message give the one-shot digest', () => {
    const data = randomBytes(10_000);
    const whole = ref([data]);
    for (let trial = 0; trial < 50; trial++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < data.length;) {
        const n = Math.min(data.length - at, Math.floor(Math.random() * 200));
        chunks.push(data.subarray(at, at + n));
        at += n;
      }
      expect(addon.sha256_digest(chunks, { impl })).toBe(whole);
    }
  });

  it.skipIf(skip)('a 600 MiB stream in odd-sized chunks (length beyond 2^32 bits)', () => {
    // 1 MiB + 7 bytes in two pieces, fed 600 times: chunk edges never align with blocks.
    const a = randomBytes(333_333), b = randomBytes(1_048_583 - 333_333);
    const repeat = impl === 'sha-ni' ? 600 : 520;
    expect(addon.sha256_digest([a, b], { impl, repeat })).toBe(ref([a, b], repeat));
  });
});

describe('sha256 selection', () => {
  it('uses SHA-NI where the CPU has it', () => {
    expect(info.selected).toBe(info.shaNi ? 'sha-ni' : 'portable');
  });

  it('NODE_OSTREE_SHA256=portable switches the block function every repository path uses', () => {
    // A fresh process (the choice is made once per process), through the compiled loader in dist/.
    const binding = path.join(__dirname, '..', '..', 'dist', 'binding.js');
    const script = `const { native } = require(${JSON.stringify(binding)}); console.log(native().sha256_info().selected);`;
    const run = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8', env: { ...process.env, NODE_OSTREE_SHA256: 'portable' },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('portable');
  });

  it('rejects an unknown implementation name and non-Buffer chunks', () => {
    expect(() => addon.sha256_digest([Buffer.from('x')], { impl: 'md5' as never })).toThrow(TypeError);
    expect(() => addon.sha256_digest(['x' as never])).toThrow(TypeError);
  });
});
