// The fsync policy is a property of one transaction (TransactionOptions.fsync,
// pull's --disable-fsync), never a change to the repo's shared configuration.
import { describe, it, expect, afterAll } from 'vitest';
import * as path from 'node:path';
import { Repo } from '../lib/repo/repo';
import { Transaction, withTransaction } from '../lib/repo/transaction';
import { withPullTransaction } from '../lib/pull/common';
import { tmpdir, cleanupTmp } from './helpers/interop';

afterAll(cleanupTmp);

describe('transaction fsync policy', () => {
  it('follows core.fsync by default and the option when given, leaving the config alone', async () => {
    const repo = await Repo.create(path.join(tmpdir(), 'repo'), { mode: 'bare-user' });
    const byDefault = await Transaction.begin(repo);
    expect(byDefault.fsync).toBe(true);
    expect(byDefault.perObjectFsync).toBe(false);
    await byDefault.abort();

    const off = await Transaction.begin(repo, { fsync: false });
    expect(off.fsync).toBe(false);
    expect(repo.config.get('core', 'fsync')).toBeUndefined();
    expect(repo.fsyncEnabled).toBe(true);
    await off.commit();

    repo.config.set('core', 'fsync', 'false');
    const cfgOff = await Transaction.begin(repo);
    expect(cfgOff.fsync).toBe(false);
    await cfgOff.abort();
    const forced = await Transaction.begin(repo, { fsync: true });
    expect(forced.fsync).toBe(true);
    await forced.abort();
  });

  it('a pull with disableFsync does not touch core.fsync, even while it runs', async () => {
    const repo = await Repo.create(path.join(tmpdir(), 'repo'), { mode: 'archive' });
    const seen = await withPullTransaction(repo, { disableFsync: true }, async (tx) => [tx.fsync, repo.config.get('core', 'fsync'), repo.fsyncEnabled]);
    expect(seen).toEqual([false, undefined, true]);
    const again = await withTransaction(repo, async (tx) => tx.fsync);
    expect(again).toBe(true);
  });
});
