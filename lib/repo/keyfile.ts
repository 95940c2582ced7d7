// GLib keyfile model (the repo `config`, origin files, remotes.d). Pure codec:
// keeps group and key order and comments so a round trip through
// `config set` leaves the rest of the file as GLib would (FORMATS.md §3.9).
import { OstreeError } from '../errors';

interface Line {
  kind: 'comment' | 'entry';
  text?: string;
  key?: string;
  value?: string; // raw (escaped) value
}

interface Group {
  name: string;
  comments: string[]; // comment/blank lines before the header
  lines: Line[];
}

/**
 * A GLib key file (`GKeyFile`), as REPO/config and remotes.d files are
 * written: groups of `key=value` lines, comments and order kept on rewrite.
 * `repo.config` is one; change it, then save it with `repo.writeConfig()`.
 *
 * @example
 * import { Repo } from 'node-ostree';
 * const repo = await Repo.open('/srv/repo');
 * repo.config.set('core', 'min-free-space-percent', '1');
 * await repo.writeConfig();
 * console.log(repo.config.getBoolean('core', 'fsync', true));
 */
export class KeyFile {
  private groups: Group[] = [];
  private leading: string[] = [];

  static parse(text: string): KeyFile {
    const kf = new KeyFile();
    let cur: Group | null = null;
    let pendingComments: string[] = [];
    const lines = text.split('\n');
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    for (const raw of lines) {
      const line = raw.replace(/\r$/, '');
      const trimmed = line.trimStart();
      if (trimmed === '' || trimmed.startsWith('#')) {
        pendingComments.push(line);
        continue;
      }
      if (trimmed.startsWith('[')) {
        const end = trimmed.lastIndexOf(']');
        if (end < 0) throw new OstreeError('OSTREE_CONFIG', `Key file contains line “${line}” which is not a key-value pair, group, or comment`);
        const name = trimmed.slice(1, end);
        const existing = kf.groups.find((g) => g.name === name);
        if (existing) {
          cur = existing;
          for (const c of pendingComments) cur.lines.push({ kind: 'comment', text: c });
        } else {
          // A blank line right before a group header belongs to the separator GLib writes.
          const comments = trimTrailingBlank(pendingComments);
          if (!cur) kf.leading.push(...comments);
          else for (const c of comments) cur.lines.push({ kind: 'comment', text: c });
          cur = { name, comments: [], lines: [] };
          kf.groups.push(cur);
        }
        pendingComments = [];
        continue;
      }
      const eq = line.indexOf('=');
      if (eq < 0 || !cur) {
        throw new OstreeError('OSTREE_CONFIG', `Key file contains line “${line}” which is not a key-value pair, group, or comment`);
      }
      for (const c of pendingComments) cur.lines.push({ kind: 'comment', text: c });
      pendingComments = [];
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trimStart();
      cur.lines.push({ kind: 'entry', key, value });
    }
    if (cur) for (const c of trimTrailingBlank(pendingComments)) cur.lines.push({ kind: 'comment', text: c });
    return kf;
  }

  serialize(): string {
    const out: string[] = [...this.leading];
    this.groups.forEach((g, i) => {
      if (i > 0 && !(out.length && out[out.length - 1] === '')) out.push('');
      out.push(`[${g.name}]`);
      for (const l of g.lines) out.push(l.kind === 'comment' ? (l.text as string) : `${l.key}=${l.value}`);
    });
    return out.length ? out.join('\n') + '\n' : '';
  }

  groupNames(): string[] {
    return this.groups.map((g) => g.name);
  }

  hasGroup(name: string): boolean {
    return this.groups.some((g) => g.name === name);
  }

  keys(group: string): string[] {
    const g = this.groups.find((x) => x.name === group);
    return g ? g.lines.filter((l) => l.kind === 'entry').map((l) => l.key as string) : [];
  }

  /** The unescaped string value, or undefined. */
  get(group: string, key: string): string | undefined {
    const g = this.groups.find((x) => x.name === group);
    if (!g) return undefined;
    let found: Line | undefined;
    for (const l of g.lines) if (l.kind === 'entry' && l.key === key) found = l;
    return found ? unescapeValue(found.value as string) : undefined;
  }

  getBoolean(group: string, key: string, dflt: boolean): boolean {
    const v = this.get(group, key);
    if (v === undefined) return dflt;
    const t = v.trim();
    if (t === 'true' || t === '1') return true;
    if (t === 'false' || t === '0') return false;
    throw new OstreeError('OSTREE_CONFIG', `Key file contains key “${key}” in group “${group}” which has a value that cannot be interpreted.`);
  }

  getInteger(group: string, key: string, dflt: number): number {
    const v = this.get(group, key);
    if (v === undefined) return dflt;
    const t = v.trim();
    if (!/^-?\d+$/.test(t)) {
      throw new OstreeError('OSTREE_CONFIG', `Key file contains key “${key}” in group “${group}” which has a value that cannot be interpreted.`);
    }
    return Number(t);
  }

  getList(group: string, key: string): string[] | undefined {
    const g = this.groups.find((x) => x.name === group);
    if (!g) return undefined;
    let raw: string | undefined;
    for (const l of g.lines) if (l.kind === 'entry' && l.key === key) raw = l.value;
    if (raw === undefined) return undefined;
    const items: string[] = [];
    let cur = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (c === '\\' && i + 1 < raw.length) {
        cur += c + raw[++i];
      } else if (c === ';') {
        items.push(unescapeValue(cur));
        cur = '';
      } else cur += c;
    }
    if (cur !== '') items.push(unescapeValue(cur));
    return items;
  }

  set(group: string, key: string, value: string): void {
    this.setRaw(group, key, escapeValue(value));
  }

  setList(group: string, key: string, values: string[]): void {
    this.setRaw(group, key, values.map((v) => escapeValue(v).replace(/;/g, '\\;') + ';').join(''));
  }

  private setRaw(group: string, key: string, raw: string): void {
    let g = this.groups.find((x) => x.name === group);
    if (!g) {
      g = { name: group, comments: [], lines: [] };
      this.groups.push(g);
    }
    const existing = g.lines.filter((l) => l.kind === 'entry' && l.key === key);
    if (existing.length) {
      existing[existing.length - 1].value = raw;
      return;
    }
    // Insert after the last entry (GLib keeps trailing comments at the end).
    let at = g.lines.length;
    while (at > 0 && g.lines[at - 1].kind === 'comment' && g.lines[at - 1].text === '') at--;
    g.lines.splice(at, 0, { kind: 'entry', key, value: raw });
  }

  /** Remove a key; returns false when it was not there. */
  remove(group: string, key: string): boolean {
    const g = this.groups.find((x) => x.name === group);
    if (!g) return false;
    const before = g.lines.length;
    g.lines = g.lines.filter((l) => !(l.kind === 'entry' && l.key === key));
    return g.lines.length !== before;
  }

  removeGroup(group: string): boolean {
    const before = this.groups.length;
    this.groups = this.groups.filter((g) => g.name !== group);
    return this.groups.length !== before;
  }
}

function trimTrailingBlank(lines: string[]): string[] {
  const out = [...lines];
  while (out.length && out[out.length - 1].trim() === '') out.pop();
  return out;
}

function unescapeValue(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c !== '\\' || i + 1 >= raw.length) {
      out += c;
      continue;
    }
    const n = raw[++i];
    out += n === 's' ? ' ' : n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n === '\\' ? '\\' : '\\' + n;
  }
  return out;
}

function escapeValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === ' ' && i === 0) out += '\\s';
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else if (c === '\r') out += '\\r';
    else if (c === '\\') out += '\\\\';
    else out += c;
  }
  return out;
}
