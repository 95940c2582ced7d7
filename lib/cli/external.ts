// External commands (ostree's ot-main.c: ostree_command_lookup_external):
// `ostree FOO …`, when FOO is no builtin, runs `ostree-FOO` from
// /usr/lib/ostree or $PATH with the whole argument list (FOO included).
import { accessSync, statSync, constants } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

/** ostree's extension directory (_OSTREE_EXT_DIR). */
export const EXT_DIR = '/usr/lib/ostree';

function isExecutableFile(p: string): boolean {
  try {
    if (statSync(p).isDirectory()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** g_find_program_in_path: NAME with a slash as is, else the first executable PATH entry ('' = cwd). */
export function findProgramInPath(name: string, envPath = process.env.PATH ?? '/bin:/usr/bin'): string | null {
  if (name.includes('/')) return isExecutableFile(name) ? name : null;
  for (const dir of envPath.split(':')) {
    // Joined as g_build_filename does (no normalisation: the child sees this $0).
    const p = dir === '' ? name : dir.endsWith('/') ? dir + name : `${dir}/${name}`;
    if (isExecutableFile(p)) return p;
  }
  return null;
}

/**
 * The program for a verb that names no builtin: `ostree-VERB` in EXT_DIR,
 * else on $PATH; null otherwise (then the usual "Unknown command" error
 * follows).
 */
export function lookupExternal(verb: string): { program: string; argv0: string } | null {
  if (verb === '') return null;
  const name = `ostree-${verb}`;
  const inLib = path.join(EXT_DIR, name);
  try {
    statSync(inLib);
    return { program: inLib, argv0: inLib };
  } catch {
    /* not installed there */
  }
  const found = findProgramInPath(name);
  return found ? { program: found, argv0: name } : null;
}

/**
 * Run the extension with our whole argument list and return its exit status
 * (Node cannot exec in place; a signal death is passed on as 128+N).
 */
export function runExternal(ext: { program: string; argv0: string }, argv: string[], err: (s: string) => void): number {
  const r = spawnSync(ext.program, argv, { stdio: 'inherit', argv0: ext.argv0 });
  if (r.error) {
    const e = r.error as NodeJS.ErrnoException;
    const why: Record<string, string> = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', ENOEXEC: 'Exec format error' };
    // ostree's own format string prints "error:" followed by ": Executing".
    err(`error:: Executing ${ext.argv0}: ${why[e.code ?? ''] ?? e.message}\n`);
    return 1;
  }
  if (r.signal) {
    const { constants: os } = require('node:os') as typeof import('node:os');
    return 128 + (os.signals[r.signal] ?? 0);
  }
  return r.status ?? 1;
}
