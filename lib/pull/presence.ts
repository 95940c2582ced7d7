// Existence checks for the many objects a pull's walk visits: each
// objects/XX directory of the destination is listed once (instead of one
// lstat per object); a name missing from the listing falls back to
// core.parent. Objects linked after a listing was read may be reported
// missing: they are then fetched again and linking them finds them present.
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { isErrno } from '../errors';
import { Repo } from '../repo/repo';
import type { ObjectType } from '../objects/formats';

export class ObjectPresence {
  private readonly listings = new Map<string, Promise<Set<string>>>();
  /** The listings read so far, for checks without a task (most objects of an incremental pull are present). */
  private readonly listed = new Map<string, Set<string>>();

  constructor(private readonly repo: Repo) {}

  /** Known present from a listing already read (false: not known). */
  presentNow(type: ObjectType, checksum: string): boolean {
    const names = this.listed.get(checksum.slice(0, 2));
    return names !== undefined && names.has(Repo.relObjectPath(checksum, type, this.repo.mode).slice(11));
  }

  async has(type: ObjectType, checksum: string): Promise<boolean> {
    const rel = Repo.relObjectPath(checksum, type, this.repo.mode); // objects/XX/REST.EXT
    const prefix = checksum.slice(0, 2);
    let names = this.listings.get(prefix);
    if (!names) {
      names = fsp.readdir(path.join(this.repo.path, 'objects', prefix)).then(
        (l) => {
          const set = new Set(l);
          this.listed.set(prefix, set);
          return set;
        },
        (err) => {
          if (isErrno(err, 'ENOENT')) return new Set<string>();
          throw err;
        },
      );
      this.listings.set(prefix, names);
    }
    if ((await names).has(rel.slice(11))) return true;
    return this.repo.parent ? this.repo.parent.hasObject(type, checksum) : false;
  }
}
