// Pairing modified files of a F→T delta (ostree's
// _ostree_delta_compute_similar_objects, FORMATS.md §8.7): each new regular
// file of T is matched with a regular file of F of similar size (±30 %)
// sharing a basename (exact, then "fuzzy": same stem before the first '.').
import type { Repo } from '../repo/repo';
import type { ContentInfoCache } from './content';
import { OstreeError } from '../errors';
import { objectKey, prefetchTrees, type Prefetched } from '../traverse';
import { ObjectType } from '../objects/formats';

const SIMILARITY_PERCENT = 30;

interface SizeNames {
  checksum: string;
  size: number;
  basenames: string[];
}

/**
 * Regular files of a commit with their basenames (filtered to `only` when
 * given), sorted as ostree sorts them; `trees` caches the parsed dirtrees.
 */
async function sizeNames(repo: Repo, commit: string, info: ContentInfoCache, only: Set<string> | null, trees: Map<string, Prefetched>): Promise<SizeNames[]> {
  const c = await repo.readCommit(commit);
  // Dirtrees read for another commit (and so everything under them) are not read again.
  const known = new Set<string>();
  for (const [csum, t] of trees) if (t && !('error' in t)) known.add(objectKey(csum, ObjectType.DirTree));
  for (const [csum, t] of await prefetchTrees(repo, c.rootTree, known, 4)) trees.set(csum, t);
  // (basename, checksum) of every file, in a pre-order walk of the tree.
  const names: Array<[string, string]> = [];
  const stack = [c.rootTree];
  while (stack.length) {
    const csum = stack.pop() as string;
    const t = trees.get(csum);
    if (!t) throw new OstreeError('OSTREE_OBJECT_NOT_FOUND', `No such metadata object ${csum}.dirtree`, { data: { checksum: csum, type: 'dirtree' } });
    if ('error' in t) throw t.error;
    for (const [name, f] of t.files) if (!only || only.has(f)) names.push([name, f]);
    for (let k = t.dirs.length - 1; k >= 0; k--) stack.push(t.dirs[k][1]);
  }
  await info.prefetch(names.map((n) => n[1]));
  const map = new Map<string, SizeNames | null>();
  for (const [name, csum] of names) {
    let e = map.get(csum);
    if (e === undefined) {
      const ci = info.peek(csum);
      e = ci.isSymlink ? null : { checksum: csum, size: ci.size, basenames: [] };
      map.set(csum, e);
    }
    e?.basenames.push(name);
  }
  const out = [...map.values()].filter((v): v is SizeNames => v !== null);
  // ostree's comparator returns the 64-bit difference truncated to int.
  out.sort((a, b) => (a.size - b.size) | 0);
  return out;
}

/** Whether `a` and `b` share a basename (fuzzy: or a stem before the first '.', at the same place); ad/bd: each name's first '.'. */
function intersect(a: string[], ad: number[], b: string[], bd: number[], fuzzy: boolean): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const xd = ad[i];
    for (let k = 0; k < b.length; k++) {
      const y = b[k];
      const yd = bd[k];
      if (fuzzy && xd >= 0 && yd > 0 && yd === xd) {
        if (x.startsWith(y.slice(0, yd))) return true;
      } else if (x === y) return true;
    }
  }
  return false;
}

const firstDots = (s: SizeNames): number[] => s.basenames.map((n) => n.indexOf('.'));

function isCandidate(s: SizeNames): boolean {
  if (s.size === 0) return false;
  for (const n of s.basenames) {
    const dot = n.lastIndexOf('.');
    if (dot < 0) continue;
    const ext = n.slice(dot + 1);
    if (ext === 'xz' || ext === 'bz2') return false;
  }
  return true;
}

/** to-checksum → from-checksum for the modified files (insertion order = pairing order). */
export async function computeSimilarObjects(repo: Repo, from: string, to: string, newRegfiles: Set<string>, info: ContentInfoCache): Promise<Map<string, string>> {
  const trees = new Map<string, Prefetched>();
  const fromSizes = await sizeNames(repo, from, info, null, trees);
  const toSizes = await sizeNames(repo, to, info, newRegfiles, trees);
  const out = new Map<string, string>();
  let lower = 0;
  const lo = (s: number) => Math.trunc(s * (1.0 - SIMILARITY_PERCENT / 100.0));
  const hi = (s: number) => Math.trunc(s * (1.0 + SIMILARITY_PERCENT / 100.0));
  // Per from-file, computed once: whether it may be paired, and where its names' stems end.
  const fromOk = fromSizes.map(isCandidate);
  const fromDots = fromSizes.map(firstDots);
  for (const t of toSizes) {
    if (!isCandidate(t)) continue;
    const tDots = firstDots(t);
    const min = lo(t.size);
    const max = hi(t.size);
    let found = false;
    for (let fuzzy = 0; fuzzy < 2 && !found; fuzzy++) {
      for (let j = lower; j < fromSizes.length; j++) {
        if (!fromOk[j]) continue;
        const f = fromSizes[j];
        if (f.size < min) {
          lower++;
          continue;
        }
        if (f.size > max) break;
        if (!intersect(f.basenames, fromDots[j], t.basenames, tDots, fuzzy === 1)) continue;
        out.set(t.checksum, f.checksum);
        found = true;
        break;
      }
    }
  }
  return out;
}

