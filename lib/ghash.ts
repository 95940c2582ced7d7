// Iteration order of a GLib GHashTable with string keys (g_str_hash), as of
// GLib 2.60+: ostree prints several listings (refs, summary dictionaries,
// GVariantDict-built metadata) in this order. FORMATS.md §1.8 documents it.

const PRIMES = [1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647];
const MIN_SHIFT = 3;

/** g_str_hash over the UTF-8 bytes (signed chars), as GLib computes it (unsigned 32-bit). */
export function gStrHashRaw(key: string): number {
  let h = 5381;
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = byte >= 128 ? byte - 256 : byte;
    h = (Math.imul(h, 33) + c) >>> 0;
  }
  return h;
}

/** A hash as GHashTable stores it: values below 2 mark empty/tombstone slots and become 2. */
function realHash(h: number): number {
  return h < 2 ? 2 : h;
}

/** g_str_hash over the UTF-8 bytes (signed chars), clamped to >= 2 like GHashTable. */
export function gStrHash(key: string): number {
  return realHash(gStrHashRaw(key));
}

function toIndex(hash: number, mod: number): number {
  return (Math.imul(hash, 11) >>> 0) % mod;
}

/** Keys (in insertion order; duplicates allowed) -> the order GLib would iterate them. */
export function ghashOrder(keys: string[]): string[] {
  return ghashOrderBy(keys, gStrHashRaw, (k) => k);
}

/**
 * Items (in insertion order) -> the order a GHashTable with hash function
 * `hash` iterates them; items with the same `key` are one entry (the first
 * inserted stays, as g_hash_table_add of an equal key keeps the old one).
 */
export function ghashOrderBy<T>(items: T[], hash: (item: T) => number, key: (item: T) => string): T[] {
  let shift = MIN_SHIFT;
  let size = 1 << shift;
  let mod = PRIMES[shift];
  let mask = size - 1;
  let hashes = new Array<number>(size).fill(0);
  // Slots hold indexes into `items` (-1: empty).
  let slots = new Array<number>(size).fill(-1);
  const keys = items.map(key);
  let nnodes = 0;
  let noccupied = 0;

  const resize = () => {
    const oldSize = size;
    let m = Math.floor(nnodes * 1.333);
    let s = 0;
    while (m) {
      m >>>= 1;
      s++;
    }
    shift = Math.max(s, MIN_SHIFT);
    size = 1 << shift;
    mod = PRIMES[shift];
    mask = size - 1;
    const n = Math.max(size, oldSize);
    while (hashes.length < n) {
      hashes.push(0);
      slots.push(-1);
    }
    const placed = new Array<boolean>(n).fill(false);
    for (let i = 0; i < oldSize; i++) {
      let nodeHash = hashes[i];
      if (nodeHash < 2) {
        hashes[i] = 0;
        continue;
      }
      if (placed[i]) continue;
      hashes[i] = 0;
      let key = slots[i];
      slots[i] = -1;
      for (;;) {
        let idx = toIndex(nodeHash, mod);
        let step = 0;
        while (placed[idx]) {
          step++;
          idx = (idx + step) & mask;
        }
        placed[idx] = true;
        const replacedHash = hashes[idx];
        const replacedKey = slots[idx];
        hashes[idx] = nodeHash;
        slots[idx] = key;
        if (replacedHash < 2) break;
        nodeHash = replacedHash;
        key = replacedKey;
      }
    }
    if (size < oldSize) {
      hashes = hashes.slice(0, size);
      slots = slots.slice(0, size);
    }
    noccupied = nnodes;
  };

  for (let i = 0; i < items.length; i++) {
    const h = realHash(hash(items[i]));
    const k = keys[i];
    let idx = toIndex(h, mod);
    let step = 0;
    let found = false;
    while (hashes[idx] !== 0) {
      if (hashes[idx] === h && keys[slots[idx]] === k) {
        found = true;
        break;
      }
      step++;
      idx = (idx + step) & mask;
    }
    if (found) continue;
    hashes[idx] = h;
    slots[idx] = i;
    nnodes++;
    noccupied++;
    if ((size > nnodes * 4 && size > 1 << MIN_SHIFT) || size <= noccupied + Math.floor(noccupied / 16)) resize();
  }
  return slots.filter((i) => i >= 0).map((i) => items[i]);
}
