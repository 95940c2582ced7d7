// One static delta part while it is being compiled (FORMATS.md §8.4, §8.6):
// the objects it creates, its payload blob, its op stream and its mode and
// xattr tables, then the part file — `(yay)`: 'x' + one xz stream of the body
// `(a(uuu)aa(ayay)ayay)` — and its header. Mirrors OstreeStaticDeltaPartBuilder
// in ostree-repo-static-delta-compilation.c.
import { native } from '../binding';
import { bswap32, serialize } from '../gvariant/codec';
import { ObjectType, Xattrs, sha256Hex } from '../objects/formats';
import type { PartHeader } from './superblock';
import type { CompressionGate } from './compression';

export const PART_BODY_TYPE = '(a(uuu)aa(ayay)ayay)';

export const Op = {
  OpenSpliceAndClose: 0x53,
  Open: 0x6f,
  Write: 0x77,
  SetReadSource: 0x72,
  UnsetReadSource: 0x52,
  Close: 0x63,
  Bspatch: 0x42,
} as const;

/** Unsigned LEB128 (§8.5). */
export function writeVarint(out: number[], v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint out of range: ${v}`);
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** A growable byte blob (the payload): appends without quadratic copying. */
class Blob {
  private chunks: Buffer[] = [];
  length = 0;
  append(b: Buffer): number {
    const off = this.length;
    if (b.length) {
      this.chunks.push(b);
      this.length += b.length;
    }
    return off;
  }
  /** The appended buffers, in order (the blob is empty after). */
  takeChunks(): Buffer[] {
    const c = this.chunks;
    this.chunks = [];
    this.length = 0;
    return c;
  }
}

/** A part's canonical xattr variant, the bytes its table entry is deduplicated on. */
export function xattrsVariant(x: Xattrs): Array<[Buffer, Buffer]> {
  return [...x]
    .map(([n, v]): [Buffer, Buffer] => [Buffer.concat([Buffer.from(n, 'utf8'), Buffer.from([0])]), v])
    .sort((a, b) => Buffer.compare(a[0], b[0]));
}

/** GVariant's framing offset size for a container of `len` content bytes and `n` offsets. */
function framingWidth(len: number, n: number): number {
  for (const w of [1, 2, 4]) if (len + n * w <= 2 ** (8 * w) - 1) return w;
  return 8;
}

export interface FinishedPart {
  /** The part file: compression byte + xz stream. */
  file: Buffer;
  header: PartHeader;
}

export class PartBuilder {
  readonly objects: Array<{ type: ObjectType; checksum: string }> = [];
  readonly payload = new Blob();
  readonly ops: number[] = [];
  /** Sum of the object sizes (header usize). */
  usize = 0n;
  private modes: Array<[number, number, number]> = [];
  private modeIndex = new Map<string, number>();
  private xattrs: Array<Array<[Buffer, Buffer]>> = [];
  private xattrIndex = new Map<string, number>();

  /** Mode table index of (uid, gid, mode), values stored big-endian. */
  modeIdx(uid: number, gid: number, mode: number): number {
    const key = `${uid}:${gid}:${mode}`;
    let i = this.modeIndex.get(key);
    if (i === undefined) {
      i = this.modes.length;
      this.modes.push([bswap32(uid >>> 0), bswap32(gid >>> 0), bswap32(mode >>> 0)]);
      this.modeIndex.set(key, i);
    }
    return i;
  }

  /** Xattr table index, deduplicated by the serialized bytes. */
  xattrIdx(x: Xattrs): number {
    const v = xattrsVariant(x);
    // No xattrs serialize to no bytes.
    const key = v.length ? serialize('a(ayay)', v).toString('latin1') : '';
    let i = this.xattrIndex.get(key);
    if (i === undefined) {
      i = this.xattrs.length;
      this.xattrs.push(v);
      this.xattrIndex.set(key, i);
    }
    return i;
  }

  op(code: number, ...args: number[]): void {
    this.ops.push(code);
    for (const a of args) writeVarint(this.ops, a);
  }

  /**
   * The uncompressed part body (consumes the payload): PART_BODY_TYPE
   * serialized with the payload copied once. All four members are
   * variable-size and byte-aligned past the first, so the body is their bytes
   * in order, then the ends of the first three as framing offsets, last
   * first (as serialize() writes them; test/deltas-part-builder checks).
   */
  body(): Buffer {
    const modes = serialize('a(uuu)', this.modes);
    const xattrs = serialize('aa(ayay)', this.xattrs);
    const payloadLen = this.payload.length;
    const payload = this.payload.takeChunks();
    const ops = Buffer.from(this.ops);
    const ends = [modes.length + xattrs.length + payloadLen, modes.length + xattrs.length, modes.length];
    const content = ends[0] + ops.length;
    const w = framingWidth(content, ends.length);
    const offsets = Buffer.alloc(ends.length * w);
    ends.forEach((e, i) => (w === 8 ? offsets.writeBigUInt64LE(BigInt(e), i * w) : offsets.writeUIntLE(e, i * w, w)));
    return Buffer.concat([modes, xattrs, ...payload, ops, offsets], content + offsets.length);
  }

  /** Compress (xz, off the main thread, when `gate` lets it start) and checksum the part. */
  async finish(gate?: CompressionGate): Promise<FinishedPart> {
    const body = this.body();
    const encode = () => native().xz_encode(body);
    const xz = await (gate ? gate.run(encode) : encode());
    const file = Buffer.concat([Buffer.from([0x78]), xz]);
    return {
      file,
      header: { version: 0, checksum: sha256Hex(file), size: BigInt(file.length), usize: this.usize, objects: this.objects },
    };
  }
}

