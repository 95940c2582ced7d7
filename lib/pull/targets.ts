// What a pull fetches: the refs or checksums asked for (by default the
// remote's `branches`, or every summary ref for a mirror), each resolved to
// a commit through the summary, or through refs/heads/REF when the remote
// has no summary (ostree-repo-pull.c: the requested_refs_to_fetch step).
import { OstreeError } from '../errors';
import { validateRef } from '../refs/refs';
import { isValidChecksum } from '../objects/formats';
import { remoteList, Remote } from '../remotes/remotes';
import type { Summary } from '../summary';
import type { PullSource } from './source';

export interface PullTarget {
  /** The ref asked for, or null when a commit checksum was. */
  ref: string | null;
  checksum: string;
  /** Commit object size from the summary. */
  size?: number;
}

export interface ResolvedTargets {
  targets: PullTarget[];
  /** A mirror pull of every ref of the summary (which is then copied too). */
  allRefs: boolean;
}

export async function resolvePullTargets(remote: Remote, src: PullSource, summary: Summary | null, opts: { refs?: string[]; mirror?: boolean }): Promise<ResolvedTargets> {
  let names = opts.refs ?? [];
  const allRefs = names.length === 0 && !!opts.mirror;
  if (names.length === 0) {
    if (opts.mirror) {
      if (!summary) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Fetching all refs was requested in mirror mode, but remote repository does not have a summary');
      names = summary.refs.map((r) => r.name);
    } else {
      names = remoteList(remote, 'branches') ?? [];
      if (names.length === 0) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `No configured branches for remote ${remote.name}`);
    }
  }
  const targets: PullTarget[] = [];
  for (const name of names) {
    if (isValidChecksum(name)) {
      targets.push({ ref: null, checksum: name });
      continue;
    }
    const at = name.lastIndexOf('@');
    if (at >= 0) {
      // REF@COMMIT: that commit, written to REF (ostree's override-commit-ids); the remote's own ref is not consulted.
      const ref = name.slice(0, at);
      const commit = name.slice(at + 1);
      validateRef(ref);
      if (!isValidChecksum(commit)) throw new OstreeError('OSTREE_INVALID_CHECKSUM', `Invalid checksum '${commit}'`, { data: { checksum: commit } });
      targets.push({ ref, checksum: commit });
      continue;
    }
    validateRef(name);
    if (summary) {
      const e = summary.refs.find((r) => r.name === name);
      if (!e) throw new OstreeError('OSTREE_REF_NOT_FOUND', `No such branch '${name}' in repository summary`, { data: { ref: name } });
      targets.push({ ref: name, checksum: e.checksum, size: Number(e.size) || undefined });
    } else {
      const c = await src.fetchRef(name);
      if (!isValidChecksum(c)) throw new OstreeError('OSTREE_INVALID_CHECKSUM', `Invalid checksum for ref ${name}: ${c}`);
      targets.push({ ref: name, checksum: c });
    }
  }
  return { targets, allRefs };
}
