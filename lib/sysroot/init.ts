// Creating a sysroot and a stateroot: `ostree admin init-fs` and
// `ostree admin os-init` (ostree_sysroot_ensure_initialized,
// ostree_sysroot_init_osname; FORMATS.md §9.1).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno } from '../errors';
import { Repo } from '../repo/repo';

export interface InitFsOptions {
  /** Only create boot/ and ostree/ (`--modern`). */
  modern?: boolean;
}

/** `ostree/repo` (mode bare) and `ostree/deploy` (ostree_sysroot_ensure_initialized). */
export async function ensureSysrootInitialized(sysrootPath: string): Promise<void> {
  await fsp.mkdir(path.join(sysrootPath, 'ostree/repo'), { recursive: true, mode: 0o755 });
  await fsp.mkdir(path.join(sysrootPath, 'ostree/deploy'), { recursive: true, mode: 0o755 });
  const repoPath = path.join(sysrootPath, 'ostree/repo');
  const hasConfig = await fsp.lstat(path.join(repoPath, 'config')).then(() => true, () => false);
  if (!hasConfig) await Repo.create(repoPath, { mode: 'bare' });
}

/**
 * Lay out an empty sysroot in the existing directory `sysrootPath`
 * (`ostree admin init-fs`): boot/, ostree/repo (bare), ostree/deploy, and
 * unless `modern` the traditional top-level directories.
 *
 * @example
 * import { initFs, initOsname } from 'node-ostree';
 * await initFs('/mnt/sysroot');
 * await initOsname('/mnt/sysroot', 'exampleos');
 */
export async function initFs(sysrootPath: string, opts: InitFsOptions = {}): Promise<void> {
  const st = await fsp.stat(sysrootPath).catch((e) => {
    if (isErrno(e, 'ENOENT')) throw new OstreeError('OSTREE_NOT_FOUND', `opendir(${sysrootPath}): No such file or directory`, { cause: e });
    throw e;
  });
  if (!st.isDirectory()) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `opendir(${sysrootPath}): Not a directory`);
  await fsp.mkdir(path.join(sysrootPath, 'boot'), { recursive: true, mode: 0o755 });
  if (!opts.modern) {
    for (const d of ['boot', 'dev', 'home', 'proc', 'run', 'sys']) await fsp.mkdir(path.join(sysrootPath, d), { recursive: true, mode: 0o755 });
    await fsp.mkdir(path.join(sysrootPath, 'root'), { recursive: true, mode: 0o700 });
    await fsp.mkdir(path.join(sysrootPath, 'tmp'), { recursive: true, mode: 0o1777 });
    await fsp.chmod(path.join(sysrootPath, 'tmp'), 0o1777);
  }
  await ensureSysrootInitialized(sysrootPath);
}

/**
 * Create the stateroot `osname` with its shared /var (`ostree admin
 * os-init`, ostree_sysroot_init_osname); fails if it exists.
 *
 * @example
 * import { initOsname } from 'node-ostree';
 * await initOsname('/mnt/sysroot', 'exampleos');
 */
export async function initOsname(sysrootPath: string, osname: string): Promise<void> {
  await ensureSysrootInitialized(sysrootPath);
  const deploydir = path.join(sysrootPath, 'ostree/deploy', osname);
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      const err = new OstreeError(isErrno(e, 'EEXIST') ? 'OSTREE_EXISTS' : 'OSTREE_IO', `${what}: ${describe(e)}`, { cause: e });
      throw err;
    }
  };
  await step(`Creating ostree/deploy/${osname}`, () => fsp.mkdir(deploydir, 0o777));
  await step('Creating var', () => fsp.mkdir(path.join(deploydir, 'var'), 0o777));
  await step('Creating var/tmp', () => fsp.mkdir(path.join(deploydir, 'var/tmp'), 0o777));
  await fsp.chmod(path.join(deploydir, 'var/tmp'), 0o1777);
  await step('Creating var/lib', () => fsp.mkdir(path.join(deploydir, 'var/lib'), 0o777));
  await step('Creating var/log', () => fsp.mkdir(path.join(deploydir, 'var/log'), 0o755));
  await step('Symlinking var/run', () => fsp.symlink('../run', path.join(deploydir, 'var/run')));
  await step('Symlinking var/lock', () => fsp.symlink('../run/lock', path.join(deploydir, 'var/lock')));
  const now = new Date();
  await fsp.utimes(path.join(sysrootPath, 'ostree/deploy'), now, now);
}

function describe(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const map: Record<string, string> = { EEXIST: 'File exists', ENOENT: 'No such file or directory', EACCES: 'Permission denied' };
  return (code && map[code]) || (e as Error).message;
}
