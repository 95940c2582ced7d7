// The one shape of every progress report (commit, checkout, fsck, prune,
// pulls, static deltas): which phase, how much of it is done, of how much,
// counted in what. `total` is null while it is not known yet (a tree still
// being scanned), never a guess that later moves; within a phase `loaded`
// only grows. Pulls add their object and byte counters (PullProgress).

/** What `loaded` and `total` count. */
export type ProgressUnit = 'objects' | 'files' | 'bytes' | 'commits' | 'parts' | 'refs' | 'steps';

export interface Progress<Phase extends string = string> {
  phase: Phase;
  loaded: number;
  /** null while not known yet. */
  total: number | null;
  unit: ProgressUnit;
}
