// The part builder (FORMATS.md §8.4–§8.6): varints, table deduplication, the
// part body and file layout; the part checksum covers the file as written.
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Op, PartBuilder, PART_BODY_TYPE, writeVarint } from '../lib/deltas/part-builder';
import { deserialize, serialize } from '../lib/gvariant/codec';

describe('part builder', () => {
  it('varints are unsigned LEB128 (§8.5 examples) and refuse what cannot be one', () => {
    const enc = (v: number) => {
      const o: number[] = [];
      writeVarint(o, v);
      return Buffer.from(o).toString('hex');
    };
    expect(enc(0)).toBe('00');
    expect(enc(127)).toBe('7f');
    expect(enc(128)).toBe('8001');
    expect(enc(311)).toBe('b702');
    expect(enc(2 ** 32)).toBe('8080808010');
    expect(() => enc(-1)).toThrow(RangeError);
    expect(() => enc(1.5)).toThrow(RangeError);
  });

  it('dedupes modes by value (stored big-endian) and xattrs by canonical bytes; the file is x + xz of the body', async () => {
    const b = new PartBuilder();
    expect(b.modeIdx(0, 0, 0o100644)).toBe(0);
    expect(b.modeIdx(1000, 1000, 0o100755)).toBe(1);
    expect(b.modeIdx(0, 0, 0o100644)).toBe(0);
    expect(b.xattrIdx([])).toBe(0);
    expect(b.xattrIdx([['user.b', Buffer.from('2')], ['user.a', Buffer.from('1')]])).toBe(1);
    expect(b.xattrIdx([['user.a', Buffer.from('1')], ['user.b', Buffer.from('2')]])).toBe(1);
    const off = b.payload.append(Buffer.from('hello'));
    b.op(Op.OpenSpliceAndClose, 0, 1, 5, off);
    b.objects.push({ type: 1, checksum: 'ab'.repeat(32) });
    b.usize += 5n;
    const { file, header } = await b.finish();
    expect(file[0]).toBe(0x78);
    expect(header.checksum).toBe(createHash('sha256').update(file).digest('hex'));
    expect(header.size).toBe(BigInt(file.length));
    const body = execFileSync('xz', ['-dc'], { input: file.subarray(1) });
    const [modes, xattrs, payload, ops] = deserialize<[number[][], unknown[][], Buffer, Buffer]>(PART_BODY_TYPE, body);
    expect(modes).toEqual([
      [0, 0, 0xa4810000],
      [0xe8030000, 0xe8030000, 0xed810000],
    ]);
    expect(xattrs.length).toBe(2);
    expect(payload.toString()).toBe('hello');
    expect(ops.toString('hex')).toBe('5300010500');
  });

  it('the body is exactly serialize(PART_BODY_TYPE, …), across framing offset widths', () => {
    const sizes = [0, 1, 200, 236, 237, 238, 252, 65000, 65500, 65521, 65522, 65536, 70000];
    for (const n of sizes) {
      for (const withTables of [false, true]) {
        const b = new PartBuilder();
        if (withTables) {
          b.modeIdx(0, 0, 0o100644);
          b.xattrIdx([['user.a', Buffer.from('1')]]);
        }
        const data = Buffer.alloc(n, 0x61);
        // The payload in several appends, as the compiler makes it.
        b.payload.append(data.subarray(0, n >> 1));
        b.payload.append(data.subarray(n >> 1));
        b.op(Op.OpenSpliceAndClose, 0, 0, n, 0);
        const expected = serialize(PART_BODY_TYPE, [
          withTables ? [[0, 0, 0xa4810000]] : [],
          withTables ? [[[Buffer.from('user.a\0'), Buffer.from('1')]]] : [],
          data,
          Buffer.from(b.ops),
        ]);
        expect(b.body().equals(expected), `payload ${n}, tables ${withTables}`).toBe(true);
        expect(b.payload.length).toBe(0);
      }
    }
  });
});
