// One `ostree ls` line for a tree entry (ot-builtin-ls.c's print_one_file).
import type { RepoFile, FileInfo } from './repo-file';
import { xattrsToVariantValue } from './repo-file';
import { printVariant } from '../gvariant/text';

export interface LsFormat {
  /** Add the checksum (dirtree and dirmeta for directories). */
  checksum?: boolean;
  /** Add the xattrs as GVariant text. */
  xattrs?: boolean;
  /** Print just the path and a NUL. */
  nulFilenamesOnly?: boolean;
}

function typeChar(info: FileInfo): string {
  switch (info.type) {
    case 'regular': return '-';
    case 'directory': return 'd';
    case 'symlink': return 'l';
    default: {
      const fmt = info.mode & 0o170000;
      return fmt === 0o020000 ? 'c' : fmt === 0o060000 ? 'b' : '?';
    }
  }
}

/** `d00755 0 0      0 [csums ][{ xattrs } ]/path[ -> target]\n` (or `/path\0`). */
export async function formatLsLine(f: RepoFile, info: FileInfo, fmt: LsFormat = {}): Promise<string> {
  if (fmt.nulFilenamesOnly) return f.path + '\0';
  let s = typeChar(info) + '0' + ((info.mode & ~0o170000) >>> 0).toString(8).padStart(4, '0');
  s += ` ${info.uid} ${info.gid} ${String(info.size).padStart(6)} `;
  if (fmt.checksum) {
    if (info.type === 'directory') s += f.treeChecksum() + ' ';
    s += f.checksum() + ' ';
  }
  if (fmt.xattrs) s += `{ ${printVariant('a(ayay)', xattrsToVariantValue(await f.xattrs()), true)} } `;
  s += f.path;
  if (info.type === 'symlink') s += ` -> ${info.symlinkTarget}`;
  return s + '\n';
}
