// Console progress and size formatting as ostree's CLI prints them
// (libglnx glnx-console.c, GLib g_format_size). On a TTY a bar redrawn in
// place; otherwise one plain line per update, at most one per second except
// the final 100%.

export { formatSize } from '../format-size';

export class ConsoleProgress {
  private lastMs = 0;
  private lastText: string | null = null;
  private lastPercent = -1;
  private locked = false;
  readonly isTty: boolean;

  constructor(private readonly write: (s: string) => void, isTty = !!process.stdout.isTTY) {
    this.isTty = isTty;
  }

  /** glnx_console_lock: on a TTY, start a line and save the cursor. */
  lock(): void {
    if (this.locked) return;
    this.locked = true;
    if (this.isTty) this.write('\n\x1b7');
  }

  /** glnx_console_unlock: finish the TTY line. */
  unlock(): void {
    if (!this.locked) return;
    this.locked = false;
    if (this.isTty) this.write('\n');
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
    this.write(`\x1b8${text.slice(0, textlen)} [${'='.repeat(eq)}${' '.repeat(inner - eq)}] ${String(percent).padStart(3)}%`);
  }
}
