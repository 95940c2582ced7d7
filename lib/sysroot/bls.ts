// Boot Loader Specification entries (boot/loader.N/entries/ostree-*.conf):
// the parser and writer, mirrors ostree-bootconfig-parser.c (FORMATS.md §9.4).
// Pure codec, no I/O.
import { ghashOrder } from '../ghash';

/** Keys written first, in this order, when present. */
const FIXED_KEYS = ['title', 'version', 'options', 'devicetree', 'linux', 'initrd'];

/**
 * One BLS entry: `key value` lines. A repeated `initrd` collects overlay
 * initrds; any other repeated key keeps its last value. Unknown keys are
 * kept and written back after the fixed ones, in GLib hash-table order.
 *
 * @example
 * import { BootConfig } from 'node-ostree';
 * const bc = BootConfig.parse('title Test\nversion 1\noptions quiet ostree=/ostree/boot.1/os/abc/0\n');
 * console.log(bc.get('options'));
 * bc.set('version', '2');
 * console.log(bc.serialize());
 */
export class BootConfig {
  /** Keys in insertion order (which decides GLib's iteration order for the extra keys). */
  private readonly options = new Map<string, string>();
  private insertion: string[] = [];
  /** Additional `initrd` lines (overlay initrds), after the first `initrd`. */
  overlayInitrds: string[] = [];

  static parse(text: string): BootConfig {
    const bc = new BootConfig();
    for (const line of text.split('\n')) {
      if (!/^[A-Za-z]/.test(line)) continue;
      const m = /[ \t]/.exec(line);
      if (!m) continue;
      const key = line.slice(0, m.index);
      const value = line.slice(m.index + 1);
      if (key === 'initrd' && bc.options.has('initrd')) bc.overlayInitrds.push(value);
      else bc.set(key, value);
    }
    return bc;
  }

  get(key: string): string | undefined {
    return this.options.get(key);
  }

  set(key: string, value: string): void {
    if (!this.options.has(key)) this.insertion.push(key);
    this.options.set(key, value);
  }

  keys(): string[] {
    return [...this.options.keys()];
  }

  clone(): BootConfig {
    const bc = new BootConfig();
    for (const k of this.insertion) bc.set(k, this.options.get(k) as string);
    bc.overlayInitrds = [...this.overlayInitrds];
    return bc;
  }

  /** The file's bytes as ostree_bootconfig_parser_write_at() lays them out. */
  serialize(): string {
    let out = '';
    const written = new Set<string>();
    for (const k of FIXED_KEYS) {
      const v = this.options.get(k);
      if (v === undefined) continue;
      out += `${k} ${v}\n`;
      written.add(k);
    }
    if (written.has('initrd')) for (const i of this.overlayInitrds) out += `initrd ${i}\n`;
    for (const k of ghashOrder(this.insertion)) {
      if (written.has(k)) continue;
      out += `${k} ${this.options.get(k)}\n`;
    }
    return out;
  }
}

/** strverscmp(3) as glibc implements it (the BLS `version` sort key). */
export function strverscmp(a: string, b: string): number {
  // Split into runs of digits and non-digits; compare digit runs numerically,
  // except runs with leading zeros, which compare as fractional parts.
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a[i];
    const cb = b[j];
    const da = ca >= '0' && ca <= '9';
    const db = cb >= '0' && cb <= '9';
    if (da && db) {
      let ei = i;
      while (ei < a.length && a[ei] >= '0' && a[ei] <= '9') ei++;
      let ej = j;
      while (ej < b.length && b[ej] >= '0' && b[ej] <= '9') ej++;
      const ra = a.slice(i, ei);
      const rb = b.slice(j, ej);
      const fracA = ra.length > 1 && ra[0] === '0';
      const fracB = rb.length > 1 && rb[0] === '0';
      let c: number;
      if (fracA || fracB) {
        c = ra < rb ? -1 : ra > rb ? 1 : 0;
        if (c === 0) c = ra.length - rb.length;
      } else {
        const na = ra.replace(/^0+/, '');
        const nb = rb.replace(/^0+/, '');
        c = na.length !== nb.length ? na.length - nb.length : na < nb ? -1 : na > nb ? 1 : 0;
      }
      if (c !== 0) return c < 0 ? -1 : 1;
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca < cb ? -1 : 1;
    i++;
    j++;
  }
  return a.length - i === b.length - j ? 0 : a.length - i < b.length - j ? -1 : 1;
}
