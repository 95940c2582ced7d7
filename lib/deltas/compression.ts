// How many part compressions (xz preset 8, as ostree's
// ostree-repo-static-delta-compilation.c uses) a delta generation runs at
// once. Each encoder may touch about 370 MiB (its 32 MiB dictionary's match
// finder) on a full-size part, so a second one starts only when it can help and
// fits: a core is idle (the load average leaves one free) and the process's
// RSS plus one more encoder stays within the memory budget. The first always
// runs, so a generation never stalls.
import * as os from 'node:os';

/** What one preset-8 encoder may take (lzma_easy_encoder_memusage(8), rounded up). */
export const XZ_ENCODER_BYTES = 370 * 2 ** 20;
/** Default RSS budget of a generation. */
export const DEFAULT_MEMORY_BUDGET = 512 * 2 ** 20;

export interface LoadProbe {
  /** Resident set size of this process (bytes). */
  rss(): number;
  /** 1-minute load average. */
  load(): number;
  /** Cores available to us. */
  cores(): number;
}

const systemProbe: LoadProbe = {
  rss: () => process.memoryUsage.rss(),
  load: () => os.loadavg()[0],
  cores: () => os.availableParallelism?.() ?? os.cpus().length,
};

export class CompressionGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  /** Most encoders that ran at once (for tests and benchmarks). */
  peak = 0;

  constructor(
    private readonly slots: number,
    private readonly budget = DEFAULT_MEMORY_BUDGET,
    private readonly probe: LoadProbe = systemProbe,
  ) {}

  /** Run `encode` once an encoder may start. */
  async run<T>(encode: () => Promise<T>): Promise<T> {
    while (!this.mayStart()) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await encode();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  private mayStart(): boolean {
    if (this.active === 0) return true;
    if (this.active >= this.slots) return false;
    const p = this.probe;
    // Our own encoders count toward the load; another one needs a core nobody uses.
    if (p.load() > p.cores() - 1) return false;
    return p.rss() + XZ_ENCODER_BYTES <= this.budget;
  }
}
