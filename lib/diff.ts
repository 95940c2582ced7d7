// Differences between two trees, each a commit or a local directory.
// Mirrors ostree-diff.c: the same walk order (a's entries, recursing into
// directories present in both; then b's new entries), the same notion of
// "modified" (object checksums differ, or file types differ) and the same
// printed form (`M    /path`).
import type { Repo } from './repo/repo';
import { native } from './binding';
import { OstreeError, throwAborted } from './errors';
import { RepoFile, FileInfo } from './read/repo-file';
import { LocalFile, checksumLocalDir } from './read/local-file';

export type DiffFile = RepoFile | LocalFile;

export interface DiffItem {
  src: DiffFile;
  target: DiffFile;
  srcInfo: FileInfo;
  targetInfo: FileInfo;
  /** null when the file types differ (no checksums are compared then). */
  srcChecksum: string | null;
  targetChecksum: string | null;
}

export interface DiffResult {
  modified: DiffItem[];
  removed: DiffFile[];
  added: DiffFile[];
}

export interface DiffOptions {
  /** Don't include local files' xattrs in their checksums (`--no-xattrs`). */
  ignoreXattrs?: boolean;
  /** Treat local files on the target side as owned by this uid/gid. */
  ownerUid?: number;
  ownerGid?: number;
  signal?: AbortSignal;
}

function nameOf(f: DiffFile): string {
  if (f instanceof LocalFile) return f.rel.slice(f.rel.lastIndexOf('/') + 1);
  return f.name as string;
}

/** Checksums of several entries of one directory; local files go to the addon in one batch. */
async function checksums(
  entries: Array<{ file: DiffFile; info: FileInfo }>,
  opts: { skipXattrs: boolean; uid?: number; gid?: number },
): Promise<string[]> {
  const out: string[] = new Array(entries.length);
  const batch: number[] = [];
  for (let i = 0; i < entries.length; i++) {
    const { file, info } = entries[i];
    if (file instanceof RepoFile) out[i] = file.checksum();
    else if (info.type === 'directory') out[i] = await checksumLocalDir(file.fsPath, info, opts.skipXattrs);
    else if (info.type === 'special') {
      throw new OstreeError('OSTREE_UNSUPPORTED_FILE_TYPE', `Unsupported file type for ${file.fsPath}`);
    } else batch.push(i);
  }
  if (batch.length) {
    const res = await native().checksum_files(
      batch.map((i) => (entries[i].file as LocalFile).fsPath),
      { skipXattrs: opts.skipXattrs, uid: opts.uid, gid: opts.gid },
    );
    batch.forEach((i, k) => (out[i] = res[k].checksum));
  }
  return out;
}

async function addRecursive(d: DiffFile, added: DiffFile[]): Promise<void> {
  for (const { file, info } of await d.children()) {
    added.push(file);
    if (info.type === 'directory') await addRecursive(file, added);
  }
}

function ignoresXattrs(repo: Repo): boolean {
  return repo.disableXattrs || repo.mode === 'bare-user-only';
}

async function diffInto(a: DiffFile, b: DiffFile, opts: DiffOptions, skipXattrs: boolean, res: DiffResult): Promise<void> {
  throwAborted(opts.signal);
  const aInfo = await a.queryInfo();
  const bInfo = await b.queryInfo();
  // Unchanged directory trees in a repository are skipped without walking them.
  if (aInfo.type === 'directory' && bInfo.type === 'directory' && a instanceof RepoFile && b instanceof RepoFile) {
    if (a.treeChecksum() === b.treeChecksum()) return;
  }
  const uid = opts.ownerUid !== undefined && opts.ownerUid >= 0 ? opts.ownerUid : undefined;
  const gid = opts.ownerGid !== undefined && opts.ownerGid >= 0 ? opts.ownerGid : undefined;

  const aKids = await a.children();
  // Both listings once: entries are paired by name (no lookup per entry).
  const bKids = await b.children();
  const bByName = new Map(bKids.map((bk) => [nameOf(bk.file), bk]));
  const pairs: Array<{ a: { file: DiffFile; info: FileInfo }; b: { file: DiffFile; info: FileInfo } | null }> = [];
  for (const ak of aKids) {
    const bk = bByName.get(nameOf(ak.file));
    let bi: FileInfo | null = null;
    if (bk) {
      bi = { ...bk.info };
      if (uid !== undefined) bi.uid = uid;
      if (gid !== undefined) bi.gid = gid;
    }
    pairs.push({ a: ak, b: bk && bi ? { file: bk.file, info: bi } : null });
  }
  const same = pairs.filter((p) => p.b && p.a.info.type === p.b.info.type);
  const aSums = await checksums(same.map((p) => p.a), { skipXattrs });
  const bSums = await checksums(same.map((p) => p.b as { file: DiffFile; info: FileInfo }), { skipXattrs, uid, gid });
  const sums = new Map(same.map((p, i) => [p, [aSums[i], bSums[i]]]));

  for (const p of pairs) {
    if (!p.b) {
      res.removed.push(p.a.file);
      continue;
    }
    const s = sums.get(p);
    if (!s) {
      res.modified.push({ src: p.a.file, target: p.b.file, srcInfo: p.a.info, targetInfo: p.b.info, srcChecksum: null, targetChecksum: null });
      continue;
    }
    if (s[0] !== s[1]) {
      res.modified.push({ src: p.a.file, target: p.b.file, srcInfo: p.a.info, targetInfo: p.b.info, srcChecksum: s[0], targetChecksum: s[1] });
    }
    if (p.a.info.type === 'directory') await diffInto(p.a.file, p.b.file, opts, skipXattrs, res);
  }

  const aNames = new Set(aKids.map((ak) => nameOf(ak.file)));
  for (const bk of bKids) {
    if (aNames.has(nameOf(bk.file))) continue;
    res.added.push(bk.file);
    if (bk.info.type === 'directory') await addRecursive(bk.file, res.added);
  }
}

/**
 * Compare two directories (ostree_diff_dirs_with_options). `a` may be null:
 * then everything under `b` is added. Most callers want {@link diffTrees};
 * the entries of its result are such files and directories.
 *
 * @example
 * import { diffTrees, diffDirs } from 'node-ostree';
 * const top = await diffTrees(repo, 'exampleos/stable^', 'exampleos/stable');
 * for (const f of top.added) {
 *   if ((await f.queryInfo()).type !== 'directory') continue;
 *   const below = await diffDirs(null, f); // everything under an added directory
 *   console.log(below.added.length);
 * }
 */
export async function diffDirs(a: DiffFile | null, b: DiffFile, opts: DiffOptions = {}): Promise<DiffResult> {
  let skipXattrs = !!opts.ignoreXattrs;
  for (const f of [a, b]) if (f instanceof RepoFile && ignoresXattrs(f.repo)) skipXattrs = true;
  const res: DiffResult = { modified: [], removed: [], added: [] };
  if (!a) await addRecursive(b, res.added);
  else await diffInto(a, b, opts, skipXattrs, res);
  return res;
}

/**
 * `ostree diff REV REV`: compare the trees of two commits (any revs) and list
 * what was modified, removed and added (ostree_diff_dirs). Print the result as
 * ostree does with {@link formatDiff}.
 *
 * @example
 * import { diffTrees, formatDiff } from 'node-ostree';
 * const diff = await diffTrees(repo, 'exampleos/stable^', 'exampleos/stable');
 * process.stdout.write(formatDiff(diff));
 */
export async function diffTrees(repo: Repo, revA: string, revB: string, opts: DiffOptions = {}): Promise<DiffResult> {
  const { root: a } = await RepoFile.forCommit(repo, revA);
  const { root: b } = await RepoFile.forCommit(repo, revB);
  return diffDirs(a, b, opts);
}

/** Display path of a diff entry: tree path for commits, path relative to the diffed directory for local files. */
export function diffPath(f: DiffFile): string {
  return f instanceof LocalFile ? f.rel : f.path;
}

/**
 * The text `ostree diff` prints for a diff (ostree_diff_print): `M`, then
 * `D`, then `A` lines, one path each.
 *
 * @example
 * import { diffTrees, formatDiff } from 'node-ostree';
 * console.log(formatDiff(await diffTrees(repo, 'exampleos/stable^', 'exampleos/stable')));
 */
export function formatDiff(res: DiffResult): string {
  let out = '';
  for (const m of res.modified) out += `M    ${diffPath(m.src)}\n`;
  for (const r of res.removed) out += `D    ${diffPath(r)}\n`;
  for (const a of res.added) out += `A    ${diffPath(a)}\n`;
  return out;
}
