// What the parts of a pull's object phase share: the repo and its open
// transaction, the source, local cache repos, the task group, the progress
// counters and the pull's signal.
import type { Repo } from '../repo/repo';
import type { Transaction } from '../repo/transaction';
import type { PullSource } from './source';
import type { PullProgressReporter } from './progress';
import type { TaskGroup } from './tasks';
import type { StaticDeltaFetch } from './deltas';

export interface PullContext {
  repo: Repo;
  tx: Transaction;
  src: PullSource;
  /** --localcache-repo repos, consulted before the source. */
  localcache: Repo[];
  tasks: TaskGroup;
  progress: PullProgressReporter;
  /** Aborted on the caller's signal and on the first failure. */
  signal: AbortSignal;
  /** Reject regular files with mode bits outside 0775. */
  bareuseronlyFiles?: boolean;
  /** The static deltas planned for target commits. */
  deltas?: StaticDeltaFetch;
}
