import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addon, hostEnv } from './helpers';

// xz(1) is the independent decoder: it checks the container, the CRC64 and the data.
function xzDecode(b: Buffer): Buffer {
  return execFileSync('xz', ['-dc'], { input: b, maxBuffer: 1 << 28, env: hostEnv() });
}
function xzList(b: Buffer): string {
  const f = `/tmp/xz-encode-${process.pid}-${crypto.randomBytes(4).toString('hex')}.xz`;
  require('node:fs').writeFileSync(f, b);
  try {
    return execFileSync('xz', ['--robot', '-lvv', f], { env: hostEnv() }).toString();
  } finally {
    require('node:fs').unlinkSync(f);
  }
}

describe('xz_encode', () => {
  it('writes one .xz stream with a CRC64 check that xz decodes to the input', async () => {
    const inputs = [Buffer.alloc(0), Buffer.from('x'), Buffer.from('hello world '.repeat(5000)), crypto.randomBytes(100_000)];
    for (const input of inputs) {
      const out = await addon.xz_encode(input);
      expect(out.subarray(0, 6)).toEqual(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
      expect(xzDecode(out).equals(input)).toBe(true);
      const list = xzList(out);
      expect(list).toMatch(/^stream\t1\t/m);
      expect(list).toMatch(/\tCRC64\t/);
    }
  });

  it('grows its output past the first guess (incompressible input)', async () => {
    const input = crypto.randomBytes(300_000);
    const out = await addon.xz_encode(input);
    expect(out.length).toBeGreaterThan(input.length);
    expect(xzDecode(out).equals(input)).toBe(true);
  });

  it('uses preset 8 by default (same bytes as xz -8 --check=crc64)', async () => {
    const input = Buffer.from(Array.from({ length: 20000 }, (_, i) => `line ${i % 977}\n`).join(''));
    const ours = await addon.xz_encode(input);
    const theirs = execFileSync('xz', ['-8', '--check=crc64', '-c'], { input, env: hostEnv() });
    expect(ours.equals(theirs)).toBe(true);
    expect((await addon.xz_encode(input, { preset: 1 })).equals(execFileSync('xz', ['-1', '--check=crc64', '-c'], { input, env: hostEnv() }))).toBe(true);
  });

  it('rejects bad arguments', () => {
    expect(() => addon.xz_encode('nope' as unknown as Buffer)).toThrow(TypeError);
    expect(() => addon.xz_encode(Buffer.alloc(1), { preset: 10 })).toThrow(TypeError);
  });
});
