// The commit modifier (OstreeRepoCommitModifier): what commit changes in the
// tree it reads — ownership, permissions, xattrs, skipped paths and ostree's
// --statoverride file.
import { OstreeError } from '../errors';

export interface CommitModifier {
  ownerUid?: number;
  ownerGid?: number;
  canonicalPermissions?: boolean;
  skipXattrs?: boolean;
  /** Paths (relative to the tree root, starting with '/') to leave out. */
  skipList?: Set<string>;
  /** path ('/a/b') -> mode bits to OR ('+') or set ('=') */
  statOverride?: Map<string, { op: '+' | '='; mode: number }>;
  /** --mode-ro-executables: regular files with any execute bit lose their write bits (before statOverride). */
  roExecutables?: boolean;
}

/** The --mode-ro-executables rule: W^X for regular files that are executable. */
export function roExecutableMode(mode: number): number {
  return (mode & 0o170000) === 0o100000 && mode & 0o111 ? mode & ~0o222 : mode;
}

export function applyStatOverride(mod: CommitModifier, rel: string, mode: number): number {
  const o = mod.statOverride?.get(rel);
  if (!o) return mode;
  return o.op === '+' ? mode | o.mode : (mode & 0o170000) | o.mode;
}

/** Parse an ostree --statoverride file: lines "+MODE PATH" / "=MODE PATH" / "MODE PATH". */
export function parseStatOverride(text: string): Map<string, { op: '+' | '='; mode: number }> {
  const m = new Map<string, { op: '+' | '='; mode: number }>();
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l) continue;
    const sp = l.indexOf(' ');
    if (sp < 0) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Malformed statoverride line '${l}'`);
    let modeStr = l.slice(0, sp);
    let op: '+' | '=' = '+';
    if (modeStr[0] === '+' || modeStr[0] === '=') {
      op = modeStr[0] as '+' | '=';
      modeStr = modeStr.slice(1);
    }
    // ostree reads the number with g_ascii_strtod: decimal, e.g. "+2048" adds S_ISUID (04000).
    const mode = Number(modeStr);
    if (!Number.isInteger(mode) || mode < 0) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Malformed statoverride mode '${modeStr}'`);
    m.set(l.slice(sp + 1), { op, mode });
  }
  return m;
}
