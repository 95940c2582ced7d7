// The background work of a pull: every object fetch, scan and write batch
// runs as a task of one group; the first failure aborts the others (through
// the pull's AbortController) and is the one reported.

export class TaskGroup {
  private readonly tasks = new Set<Promise<void>>();
  private failed = false;
  private error: unknown = undefined;

  constructor(private readonly ctl: AbortController) {}

  /** The first failure, if any task failed. */
  get failure(): { error: unknown } | null {
    return this.failed ? { error: this.error } : null;
  }

  spawn(fn: () => Promise<void>): void {
    const p: Promise<void> = fn()
      .catch((err) => {
        if (!this.failed) {
          this.failed = true;
          this.error = err;
          this.ctl.abort(err);
        }
      })
      .finally(() => this.tasks.delete(p));
    this.tasks.add(p);
  }

  /** Wait until no task is left (tasks may spawn more while this waits). */
  async drain(): Promise<void> {
    while (this.tasks.size) await Promise.all([...this.tasks]);
  }
}
