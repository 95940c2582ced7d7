// CompressionGate (lib/deltas/compression.ts): how many part compressions
// run at once, driven by a fake load/RSS probe.
import { describe, it, expect } from 'vitest';
import { CompressionGate, XZ_ENCODER_BYTES, type LoadProbe } from '../lib/deltas/compression';

/** Runs `n` jobs through the gate; each waits until released; resolves the peak concurrency. */
async function peakOf(gate: CompressionGate, n: number): Promise<number> {
  let running = 0;
  let peak = 0;
  const releases: Array<() => void> = [];
  const jobs = Array.from({ length: n }, () =>
    gate.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((r) => releases.push(r));
      running--;
    }),
  );
  // Let every job that may start do so, then release them one at a time.
  for (let done = 0; done < n; done++) {
    await new Promise((r) => setImmediate(r));
    (releases.shift() as () => void)();
  }
  await Promise.all(jobs);
  expect(gate.peak).toBe(peak);
  return peak;
}

const probe = (p: Partial<LoadProbe>): LoadProbe => ({ rss: () => 100 * 2 ** 20, load: () => 0, cores: () => 4, ...p });

describe('compression gate', () => {
  it('runs up to the slots at once on an idle machine within budget', async () => {
    expect(await peakOf(new CompressionGate(3, 4 * XZ_ENCODER_BYTES, probe({})), 6)).toBe(3);
  });

  it('one encoder at a time when no core is idle', async () => {
    expect(await peakOf(new CompressionGate(3, 4 * XZ_ENCODER_BYTES, probe({ load: () => 3.5 })), 4)).toBe(1);
  });

  it('one encoder at a time when another would pass the RSS budget', async () => {
    expect(await peakOf(new CompressionGate(3, XZ_ENCODER_BYTES + 50 * 2 ** 20, probe({})), 4)).toBe(1);
  });

  it('a failed encode frees its slot', async () => {
    const gate = new CompressionGate(1);
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.run(async () => 7)).resolves.toBe(7);
  });
});
