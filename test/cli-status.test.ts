// The live status line (lib/cli/status.ts): drawn on a terminal only. Under a
// pseudo-terminal (util-linux `script`) long commands show it and fsck's bar
// is byte-identical to ostree's; to a pipe the output is unchanged.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { StatusLine, progressText } from '../lib/cli/status';
import { formatSize } from '../lib/format-size';
import { SKIP_INTEROP, CLI, tmpdir, cleanupTmp, ostree, ours, ok } from './helpers/interop';

afterAll(cleanupTmp);

const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0;

/** Run a shell command line under a pseudo-terminal; returns what the terminal received. */
function onTty(cmd: string, cwd: string): string {
  const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { cwd, encoding: 'latin1', env: { ...process.env, COLUMNS: '' } });
  return r.stdout;
}

describe('StatusLine', () => {
  it('writes nothing when stdout is not a terminal', () => {
    const out: string[] = [];
    const s = new StatusLine((x) => out.push(x), { tty: false });
    s.draw('a');
    s.progress({ phase: 'content', loaded: 1, total: 2, unit: 'files' });
    s.interrupt(() => out.push('msg'));
    s.end();
    expect(out).toEqual(['msg']);
  });

  it('saves the cursor, redraws from it, throttles and clears at the end', () => {
    const out: string[] = [];
    const s = new StatusLine((x) => out.push(x), { tty: true, intervalMs: 60_000, columns: () => undefined });
    s.progress({ phase: 'content', loaded: 1, total: 3, unit: 'files' }, 'Committing');
    s.progress({ phase: 'content', loaded: 2, total: 3, unit: 'files' }, 'Committing'); // throttled
    s.progress({ phase: 'content', loaded: 3, total: 3, unit: 'files' }, 'Committing'); // last: always drawn
    s.end();
    expect(out.join('')).toBe('\x1b7\x1b8Committing: 1/3 files\x1b[K\x1b8Committing: 3/3 files\x1b[K\x1b8\x1b[K');
  });

  it('fits the text to the width, keeps a final text on request', () => {
    const out: string[] = [];
    const s = new StatusLine((x) => out.push(x), { tty: true, columns: () => 30 });
    s.draw('x'.repeat(40));
    s.end('keep', 'done');
    expect(out).toEqual(['\x1b7', `\x1b8${'x'.repeat(29)}`, `\x1b8${'done'.padEnd(29)}`, '\n']);
  });

  it('formats progress as "<Label>: loaded/total unit"', () => {
    expect(progressText({ phase: 'collection-refs', loaded: 2, total: null, unit: 'refs' })).toBe('Collection refs: 2 refs');
    expect(progressText({ phase: 'fetch', loaded: 1024, total: 2048, unit: 'bytes' }, 'Fetching')).toBe(`Fetching: ${formatSize(1024)}/${formatSize(2048)}`);
  });
});

describe.skipIf(SKIP_INTEROP || !HAVE_SCRIPT)('status line on a terminal', () => {
  const d = SKIP_INTEROP ? '' : tmpdir('node-ostree-status-');
  const tree = path.join(d, 'tree');
  const node = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)}`;

  it('commit and checkout draw a line on a TTY and print exactly what ostree prints to a pipe', () => {
    mkdirSync(tree);
    for (let i = 0; i < 300; i++) writeFileSync(path.join(tree, `f${i}`), `${i}\n`);
    for (const r of ['theirs', 'mine', 'tty']) ok(ostree(['init', `--repo=${path.join(d, r)}`, '--mode=archive']));
    const args = (r: string) => ['commit', `--repo=${path.join(d, r)}`, '-b', 'main', '--timestamp=@1600000000', '--fsync=false', '-s', 's', tree];
    const theirs = ostree(args("theirs")).stdout;
    const mine = ours(args('mine'));
    expect(mine.stdout).toBe(theirs);
    expect(mine.stderr).toBe('');

    const tty = onTty(`${node} commit --repo=tty -b main --timestamp=@1600000000 --fsync=false -s s tree`, d);
    expect(tty.startsWith('\x1b7\x1b8Committing: ')).toBe(true);
    expect(tty.slice(tty.lastIndexOf('\x1b8'))).toBe(`\x1b8\x1b[K${theirs.trim()}\r\n`);

    const co = onTty(`${node} checkout --repo=tty main co`, d);
    expect(co).toMatch(/^\x1b7(\x1b8Checking out: \d+\/300 files\x1b\[K)+\x1b8\x1b\[K$/);
    expect(ours(['checkout', '--repo=tty', 'main', 'co2'], { cwd: d }).stdout).toBe('');
  });

  it("fsck's progress bar is ostree's, byte for byte, on a TTY and to a pipe", () => {
    // Both redraw at most 5 times a second: keep the first and last draws of the bar.
    const bar = /(\x1b8fsck objects \(1\/\d+\)[^\x1b]*)(?:\x1b8fsck objects[^\x1b]*)*(\x1b8fsck objects [^\x1b]*100%)/;
    const theirs = onTty(`ostree fsck --repo=theirs`, d).replace(bar, '$1$2');
    expect(theirs).toContain('\x1b7\x1b8fsck objects (1/');
    expect(onTty(`${node} fsck --repo=theirs`, d).replace(bar, '$1$2')).toBe(theirs);
    expect(ours(['fsck', '--repo=theirs'], { cwd: d }).stdout).toBe(ostree(['fsck', '--repo=theirs'], { cwd: d }).stdout);
  });
});
