// GLib's g_format_size(): how ostree prints byte counts (prune, diff --stats,
// pull, min-free-space errors).

/** GLib g_format_size() with default flags: SI units, one decimal. */
export function formatSize(size: number | bigint): string {
  const bytes = Number(size);
  if (bytes < 1000) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = bytes / 1000;
  let i = 0;
  // GLib picks the unit by thresholds (value < 1000^(i+2)), not after rounding.
  while (i < units.length - 1 && bytes >= 1000 ** (i + 2)) {
    i++;
    v = bytes / 1000 ** (i + 1);
  }
  // GLib puts a no-break space (U+00A0) between the number and the unit.
  return `${printf1(v)}\u00a0${units[i]}`;
}

/**
 * printf("%.1f", v) exactly as glibc does it: round the exact binary value,
 * ties to even (Number#toFixed rounds ties up, e.g. 1.25 -> "1.3", where
 * printf gives "1.2").
 */
function printf1(v: number): string {
  // toPrecision(100) is exact for doubles of this magnitude.
  const s = v.toPrecision(100);
  const dot = s.indexOf('.');
  const intPart = s.slice(0, dot);
  const first = Number(s[dot + 1]);
  const rest = s.slice(dot + 2);
  let tenths = BigInt(intPart) * 10n + BigInt(first);
  const restNonZero = /[1-9]/.test(rest.slice(1));
  const d = Number(rest[0] ?? '0');
  if (d > 5 || (d === 5 && restNonZero) || (d === 5 && !restNonZero && tenths % 2n === 1n)) tenths++;
  return `${tenths / 10n}.${tenths % 10n}`;
}
