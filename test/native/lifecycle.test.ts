// Contract tests for the addon as a whole: worker_threads, teardown with jobs
// in flight, GC while a job runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon, rmrf, tmpDir } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const LOADER = require.resolve('node-gyp-build');
let dir: string;
beforeAll(() => {
  dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'hello.txt'), 'Hello, OSTree!\n');
  fs.chmodSync(path.join(dir, 'hello.txt'), 0o644);
});
afterAll(() => rmrf(dir));

function runWorker(code: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { dir, ROOT, LOADER } });
    let msg: unknown;
    w.on('message', (m) => { msg = m; });
    w.on('error', reject);
    w.on('exit', (c) => (c === 0 ? resolve(msg) : reject(new Error(`worker exited ${c}`))));
  });
}

describe('addon lifecycle', () => {
  it('loads and works under worker_threads (several at once)', async () => {
    const code = `
      const { parentPort, workerData: { dir, ROOT, LOADER } } = require('worker_threads');
      const n = require(LOADER)(ROOT);
      n.checksum_files([dir + '/hello.txt'], { uid: 0, gid: 0 }).then((r) => parentPort.postMessage(r[0].checksum));`;
    const res = await Promise.all([runWorker(code), runWorker(code), runWorker(code)]);
    expect(res).toEqual(Array(3).fill('d54de4d5e87b6e23a70888c184728279c0e3a0d9ed8d4bb4fe2151e05f9599e8'));
  });

  it('survives a worker terminating with jobs in flight', async () => {
    const code = `
      const { parentPort, workerData: { dir, ROOT, LOADER } } = require('worker_threads');
      const n = require(LOADER)(ROOT);
      for (let i = 0; i < 50; i++) n.checksum_files(Array(50).fill(dir + '/hello.txt'), {});
      n.lock_open(dir + '/.lock').then((h) => n.lock_try(h, 'shared'));
      process.exit(0);`;
    await runWorker(code);
    // The main thread's addon instance is unaffected.
    const [r] = await addon.checksum_files([path.join(dir, 'hello.txt')], { uid: 0, gid: 0 });
    expect(r.checksum).toMatch(/^d54de4d5/);
  });

  it('inputs are copied before queueing (mutating them afterwards is harmless)', async () => {
    const paths = [path.join(dir, 'hello.txt')];
    const data = Buffer.from('payload');
    const p1 = addon.checksum_files(paths, { uid: 0, gid: 0 });
    const dest = path.join(dir, 'objs', 'x.file');
    const p2 = addon.objects_import([{ data, dest, mode: 0o644 }], {});
    paths[0] = '/nonexistent';
    data.fill(0);
    const [r] = await p1;
    expect(r.checksum).toMatch(/^d54de4d5/);
    await p2;
    expect(fs.readFileSync(dest, 'utf8')).toBe('payload');
  });
});
