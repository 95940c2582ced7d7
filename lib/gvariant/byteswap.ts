// g_variant_byteswap() on decoded values: every multi-byte number (n q i u h x
// t d), at any depth and inside boxed variants, has its bytes reversed. ostree's
// dump code swaps a whole object before printing it so that its big-endian
// fields (commit timestamps, dirmeta uid/gid/mode) read naturally.
import { GVType, Variant, parseType } from './codec';

const scratch = Buffer.alloc(8);

function swapNumber(code: string, v: number | bigint): number | bigint {
  switch (code) {
    case 'n':
      scratch.writeInt16LE(v as number, 0);
      return scratch.readInt16BE(0);
    case 'q':
      scratch.writeUInt16LE(v as number, 0);
      return scratch.readUInt16BE(0);
    case 'i':
    case 'h':
      scratch.writeInt32LE(v as number, 0);
      return scratch.readInt32BE(0);
    case 'u':
      scratch.writeUInt32LE(v as number, 0);
      return scratch.readUInt32BE(0);
    case 'x':
      scratch.writeBigInt64LE(v as bigint, 0);
      return scratch.readBigInt64BE(0);
    case 't':
      scratch.writeBigUInt64LE(v as bigint, 0);
      return scratch.readBigUInt64BE(0);
    case 'd':
      scratch.writeDoubleLE(v as number, 0);
      return scratch.readDoubleBE(0);
    default:
      return v;
  }
}

/** Return a copy of `value` (of `type`) with all multi-byte numbers byte-swapped. */
export function byteswapValue(type: string | GVType, value: unknown): unknown {
  const t = typeof type === 'string' ? parseType(type) : type;
  switch (t.kind) {
    case 'basic':
      return t.size !== null && t.size > 1 ? swapNumber(t.code, value as number | bigint) : value;
    case 'variant': {
      const v = value as Variant;
      return { type: v.type, value: byteswapValue(v.type, v.value) };
    }
    case 'maybe':
      return value === null ? null : byteswapValue(t.elem, value);
    case 'array':
      if (Buffer.isBuffer(value)) return value;
      return (value as unknown[]).map((e) => byteswapValue(t.elem, e));
    case 'tuple':
      return t.members.map((m, i) => byteswapValue(m, (value as unknown[])[i]));
  }
}
