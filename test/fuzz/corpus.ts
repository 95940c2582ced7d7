// The fuzz corpus (test/fuzz/corpus/<parser>/): inputs that once broke a
// parser, or that sit on an edge worth keeping, replayed by the fuzz tests on
// every run. A property failure prints its seed; with FUZZ_SAVE=1 the failing
// input is also written here so it stays covered once fixed.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

export const CORPUS_DIR = path.join(__dirname, 'corpus');

/** The seed of every property in a run: FUZZ_SEED, or a fixed one. */
export const FUZZ_SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x0d17a;

/** Every input of one parser's corpus: [file name, bytes]. */
export function corpus(parser: string): Array<[string, Buffer]> {
  const dir = path.join(CORPUS_DIR, parser);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((f): [string, Buffer] => [f, readFileSync(path.join(dir, f))]);
}

/** Keep a failing input (only with FUZZ_SAVE=1: tests do not write to the checkout otherwise). */
export function saveCrasher(parser: string, bytes: Buffer): void {
  if (process.env.FUZZ_SAVE !== '1') return;
  const dir = path.join(CORPUS_DIR, parser);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `crash-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`), bytes);
}

/**
 * Records with several fields (bspatch: old, patch, size; parts: part file
 * and object list) are stored as JSON with base64 buffers.
 */
export function encodeRecord(rec: Record<string, Buffer | number | boolean | string>): Buffer {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) o[k] = Buffer.isBuffer(v) ? { b64: v.toString('base64') } : v;
  return Buffer.from(JSON.stringify(o, null, 1) + '\n');
}

export function decodeRecord<T>(bytes: Buffer): T {
  const o = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object' && 'b64' in v) o[k] = Buffer.from((v as { b64: string }).b64, 'base64');
  }
  return o as T;
}
