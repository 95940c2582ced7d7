// The `ostree.sizes` commit metadata (written by `commit --generate-sizes`):
// one `ay` per object, CHECKSUM(32) ‖ varint(archived) ‖ varint(unpacked)
// [‖ object type byte]. Mirrors ostree_commit_get_object_sizes().
import { OstreeError } from '../errors';
import { Commit, ObjectType } from '../objects/formats';

export interface CommitSizesEntry {
  checksum: string;
  type: ObjectType;
  archived: bigint;
  unpacked: bigint;
}

function readVarint(b: Buffer, at: number): [bigint, number] {
  let result = 0n;
  let count = 0;
  let byte: number;
  do {
    if (count === 10 || at + count >= b.length) {
      throw new OstreeError('OSTREE_CORRUPT_OBJECT', 'Unexpected EOF reading ostree.sizes varint');
    }
    byte = b[at + count];
    result |= BigInt(byte & 0x7f) << BigInt(7 * count);
    count++;
  } while (byte & 0x80);
  return [result, count];
}

export function commitObjectSizes(c: Commit): CommitSizesEntry[] {
  const v = c.metadata.find(([k, val]) => k === 'ostree.sizes' && val.type === 'aay');
  if (!v) throw new OstreeError('OSTREE_NOT_FOUND', 'No metadata key ostree.sizes in commit');
  return (v[1].value as Buffer[]).map((e) => {
    if (e.length < 34) throw new OstreeError('OSTREE_CORRUPT_OBJECT', 'Invalid ostree.sizes metadata entry');
    const checksum = e.toString('hex', 0, 32);
    let at = 32;
    const [archived, n1] = readVarint(e, at);
    at += n1;
    const [unpacked, n2] = readVarint(e, at);
    at += n2;
    let type: ObjectType = ObjectType.File;
    if (at < e.length) {
      const t = e[at];
      if (t < ObjectType.File || t > ObjectType.PayloadLink) {
        throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Unexpected ostree.sizes object type ${t}`);
      }
      type = t as ObjectType;
    }
    return { checksum, type, archived, unpacked };
  });
}
