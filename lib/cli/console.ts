// Console progress and size formatting as ostree's CLI prints them
// (libglnx glnx-console.c, GLib g_format_size). On a TTY a bar redrawn in
// place (through the status line, lib/cli/status.ts); otherwise one plain
// line per update, at most one per second except the final 100%.
import { StatusLine } from './status';

export { formatSize } from '../format-size';

export class ConsoleProgress {
  private lastMs = 0;
  private lastText: string | null = null;
  private lastPercent = -1;
  private readonly line: StatusLine;
  readonly isTty: boolean;

  constructor(private readonly write: (s: string) => void, isTty = !!process.stdout.isTTY) {
    this.isTty = isTty;
    this.line = new StatusLine(write, { tty: isTty, fit: false, intervalMs: 0 });
  }

  /** glnx_console_lock: on a TTY, save the cursor where the bar goes. */
  lock(): void {
    this.line.lock();
  }

  /** glnx_console_unlock: on a TTY, end the bar's line (its last state stays). */
  unlock(): void {
    this.line.end('keep');
    this.lastText = null;
    this.lastPercent = -1;
  }

  /** glnx_console_progress_n_items: "TEXT (CUR/TOTAL)" and a percentage. */
  nItems(text: string, current: number, total: number): void {
    const pct = current === total ? 100 : Math.floor((current / total) * 100);
    this.textPercent(`${text} (${current}/${total})`, pct);
  }

  textPercent(text: string, percent: number): void {
    if (text === this.lastText && percent === this.lastPercent) return;
    const now = performance.now();
    if (percent !== 100 && this.lastMs !== 0 && now - this.lastMs < (this.isTty ? 200 : 1000)) return;
    this.lastMs = now;
    this.lastText = text;
    this.lastPercent = percent;
    if (!this.isTty) {
      this.write(`${text} ${percent}%\n`);
      return;
    }
    const cols = process.stdout.columns || 80;
    const textlen = Math.min(text.length, Math.max(0, cols - 10));
    const barlen = Math.min(20, cols - (textlen + 1));
    const inner = barlen - 2 - 5;
    const eq = Math.floor(inner * (percent / 100));
    this.line.draw(`${text.slice(0, textlen)} [${'='.repeat(eq)}${' '.repeat(inner - eq)}] ${String(percent).padStart(3)}%`);
  }
}
