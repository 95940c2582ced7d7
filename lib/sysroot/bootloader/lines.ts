// What the syslinux and u-boot backends share: reading a bootloader file as
// ostree does (whole file, UTF-8, bounded here) and joining the generated
// lines (_ostree_sysroot_join_lines).
import { promises as fsp } from 'node:fs';
import { OstreeError } from '../../errors';

/** Bootloader files and uEnv.txt fragments larger than this are refused. */
export const MAX_BOOTLOADER_FILE_SIZE = 16 * 1024 * 1024;

/**
 * Join lines with a `\n` after each, dropping an empty line at index 0 and,
 * after the first empty line kept, every later empty one (ostree never resets
 * its "previous line was empty" flag).
 */
export function joinLines(lines: readonly string[]): string {
  let out = '';
  let prevWasEmpty = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') {
      if (prevWasEmpty || i === 0) continue;
      prevWasEmpty = true;
    }
    out += line + '\n';
  }
  return out;
}

/** g_strsplit(text, "\n", -1): an empty text has no lines at all. */
export function splitLines(text: string): string[] {
  return text === '' ? [] : text.split('\n');
}

/**
 * The whole file as UTF-8 (glnx_file_get_contents_utf8_at / glnx_fd_readall_utf8),
 * following symlinks; null when `allowMissing` and it does not exist.
 */
export async function readUtf8File(file: string, allowMissing = false): Promise<string | null> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    if (allowMissing && (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const st = await fh.stat();
    let buf = Buffer.alloc(Math.min(st.size, MAX_BOOTLOADER_FILE_SIZE) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        // grew since fstat: take more, up to the bound
        if (buf.length > MAX_BOOTLOADER_FILE_SIZE) {
          throw new OstreeError('OSTREE_INVALID_ARGUMENT', `${file}: file too large`, { data: { path: file } });
        }
        const bigger = Buffer.alloc(Math.min(buf.length * 2, MAX_BOOTLOADER_FILE_SIZE + 1));
        buf.copy(bigger);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf.subarray(0, n));
    } catch {
      throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Invalid UTF-8', { data: { path: file } });
    }
  } finally {
    await fh.close();
  }
}

/** lstat-exists (glnx_fstatat_allow_noent): false for ENOENT, other errors thrown. */
export async function lexists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
