// The live status line of long CLI operations, on a terminal only, drawn the
// way libglnx's glnx-console.c does it: save the cursor when the operation
// starts, then each redraw restores it and writes the line fitted to the
// terminal's width. When stdout is not a TTY nothing is ever written, so
// output to a pipe stays byte-identical to ostree's.
import { formatSize } from '../format-size';

/** Any progress report of the library (lib/progress.ts); `unit` is optional for the delta calls. */
export interface ProgressLike {
  phase: string;
  loaded: number;
  total: number | null;
  unit?: string;
}

export interface StatusLineOptions {
  /** Draw at all; default: stdout is a TTY. */
  tty?: boolean;
  /** Minimum time between two throttled redraws, ms (default 100: at most 10 a second). */
  intervalMs?: number;
  /** Terminal width; default process.stdout.columns. */
  columns?: () => number | undefined;
  /** Fit each text to the width and pad it over the previous one (default true); off for texts laid out by the caller. */
  fit?: boolean;
}

/** "<Label>: loaded/total unit", sizes formatted when the unit is bytes; "…: loaded unit" while total is unknown. */
export function progressText(p: ProgressLike, label = phaseLabel(p.phase)): string {
  const n = (v: number) => (p.unit === 'bytes' ? formatSize(v) : String(v));
  const unit = p.unit && p.unit !== 'bytes' ? ` ${p.unit}` : '';
  const count = p.total === null ? n(p.loaded) : `${n(p.loaded)}/${n(p.total)}`;
  return `${label}: ${count}${unit}`;
}

/** "collection-refs" -> "Collection refs". */
export function phaseLabel(phase: string): string {
  const s = phase.replace(/-/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export class StatusLine {
  /** Whether anything is drawn (stdout is a terminal). */
  readonly enabled: boolean;
  private readonly intervalMs: number;
  private readonly columns: () => number | undefined;
  private readonly fitText: boolean;
  private locked = false;
  private lastMs = -Infinity;
  private lastText: string | null = null;

  constructor(private readonly write: (s: string) => void, opts: StatusLineOptions = {}) {
    this.enabled = opts.tty ?? !!process.stdout.isTTY;
    this.intervalMs = opts.intervalMs ?? 100;
    this.columns = opts.columns ?? (() => process.stdout.columns);
    this.fitText = opts.fit ?? true;
  }

  /** glnx_console_lock: remember where the line goes (saves the cursor). Drawing locks by itself. */
  lock(): void {
    if (!this.enabled || this.locked) return;
    this.locked = true;
    this.write('\x1b7');
  }

  /** Redraw now, whatever the time since the last redraw. */
  draw(text: string): void {
    if (!this.enabled) return;
    this.lock();
    this.lastMs = performance.now();
    if (text === this.lastText) return;
    this.lastText = text;
    this.write(`\x1b8${this.fitText ? this.fit(text) : text}`);
  }

  /** Redraw unless the last redraw is less than intervalMs old; returns whether it drew. */
  update(text: string): boolean {
    if (!this.enabled) return false;
    if (performance.now() - this.lastMs < this.intervalMs) return false;
    this.draw(text);
    return true;
  }

  /** A throttled `progressText(p, label)`; the last report of a phase (loaded === total) is always drawn. */
  progress(p: ProgressLike, label?: string): void {
    if (!this.enabled) return;
    const text = progressText(p, label);
    if (p.total !== null && p.loaded >= p.total) this.draw(text);
    else this.update(text);
  }

  /**
   * Print something while the line is up (a message, a report): the line is
   * erased (unless `keep`), `fn` writes, and the next redraw happens below
   * what it wrote.
   */
  interrupt(fn: () => void, opts: { keep?: boolean } = {}): void {
    if (!this.enabled || !this.locked) return fn();
    if (!opts.keep) this.write('\x1b8\x1b[K');
    this.locked = false;
    this.lastText = null;
    fn();
  }

  /**
   * glnx_console_unlock. 'clear' (the default) erases the line and leaves the
   * cursor where it started, so what follows prints in its place; 'keep'
   * leaves the last text (or `finalText`, drawn first) and ends the line.
   */
  end(mode: 'clear' | 'keep' = 'clear', finalText?: string): void {
    if (!this.enabled) return;
    if (finalText !== undefined) this.draw(finalText);
    if (!this.locked) return;
    this.write(mode === 'clear' ? '\x1b8\x1b[K' : '\n');
    this.locked = false;
    this.lastText = null;
    this.lastMs = -Infinity;
  }

  /** Truncate to the width (one column spare, so the terminal never wraps) and pad over the previous text. */
  private fit(text: string): string {
    const cols = this.columns();
    if (!cols) return `${text}\x1b[K`;
    const c = Math.max(20, cols - 1);
    return text.length > c ? text.slice(0, c) : text.padEnd(c);
  }
}

/**
 * A status line for `write` (stdout) and the `onProgress` to hand the library:
 * undefined when stdout is not a terminal, so nothing is computed for a pipe.
 * `labels` names the phases ("Committing"); others get phaseLabel().
 */
export function progressLine(
  write: (s: string) => void,
  labels: Record<string, string> = {},
  opts: StatusLineOptions = {},
): { line: StatusLine; onProgress: ((p: ProgressLike) => void) | undefined } {
  const line = new StatusLine(write, opts);
  const onProgress = line.enabled ? (p: ProgressLike) => line.progress(p, labels[p.phase]) : undefined;
  return { line, onProgress };
}
