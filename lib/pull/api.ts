// repo.pull(): the library entry point for HTTP/file pulls (lazy-loaded).
import { Repo } from '../repo/repo';
import type { PullOptions, PullResult } from './pull';

declare module '../repo/repo' {
  interface Repo {
    /** Pull refs from a configured remote (see PullOptions). */
    pull(options: PullOptions): Promise<PullResult>;
  }
}

Repo.prototype.pull = async function pull(this: Repo, options: PullOptions) {
  return (await import('./pull')).pull(this, options);
};

export {};
