// Content checksums of files on disk (`ostree checksum`, ostree_checksum_file),
// spread over the libuv pool: files are grouped into jobs balanced by size,
// large files in jobs of their own, so several cores hash at once.
import { throwAborted } from './errors';
import { promises as fsp } from 'node:fs';
import { native, ChecksumOptions, FileChecksum } from './binding';
import { mapLimit } from './repo/transaction';

export interface ChecksumFilesOptions extends ChecksumOptions {
  /** Native jobs in flight (default 4, the libuv pool size). */
  parallelism?: number;
  /** Target bytes per job for small files (default 8 MiB). */
  bytesPerJob?: number;
  /** Checked between native jobs. */
  signal?: AbortSignal;
}

/**
 * The ostree content checksums (`ostree checksum`, ostree_checksum_file) of
 * many files, computed natively in parallel batches; results in input order,
 * with each file's stat facts. Symlinks are checksummed as links.
 *
 * @example
 * import { checksumFiles } from 'node-ostree';
 * const [bash, ls] = await checksumFiles(['/usr/bin/bash', '/usr/bin/ls']);
 * console.log(bash.checksum, ls.size);
 */
export async function checksumFiles(paths: string[], opts: ChecksumFilesOptions = {}): Promise<FileChecksum[]> {
  const { parallelism = 4, bytesPerJob = 8 << 20, signal, ...copts } = opts;
  throwAborted(signal);
  if (paths.length === 0) return [];
  const sizes = await mapLimit(paths, 32, async (p) => (await fsp.lstat(p)).size);
  // Greedy grouping in input order: a job closes at bytesPerJob or 256 files.
  const jobs: number[][] = [];
  let cur: number[] = [];
  let bytes = 0;
  for (let i = 0; i < paths.length; i++) {
    if (sizes[i] >= bytesPerJob) {
      jobs.push([i]);
      continue;
    }
    cur.push(i);
    bytes += sizes[i];
    if (bytes >= bytesPerJob || cur.length >= 256) {
      jobs.push(cur);
      cur = [];
      bytes = 0;
    }
  }
  if (cur.length) jobs.push(cur);
  // Largest jobs first so the tail is short.
  const weight = (j: number[]) => j.reduce((n, i) => n + sizes[i], 0);
  jobs.sort((a, b) => weight(b) - weight(a));
  const out: FileChecksum[] = new Array(paths.length);
  await mapLimit(jobs, Math.max(1, parallelism), async (job) => {
    throwAborted(signal);
    const res = await native().checksum_files(job.map((i) => paths[i]), copts);
    job.forEach((i, k) => (out[i] = res[k]));
  });
  return out;
}
