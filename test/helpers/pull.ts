// Helpers shared by the HTTP pull tests: asynchronous runners (in-process
// servers must keep answering while ostree or our CLI runs), object and ref
// listings to compare repos, catching an expected pull failure, a test PKI.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { OstreeError } from '../../lib/errors';
import { CLI, ostree, ok, type RunResult } from './interop';

/** Run without blocking the event loop. */
export function runAsync(cmd: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    c.stdout.on('data', (d) => out.push(d));
    c.stderr.on('data', (d) => err.push(d));
    c.on('error', reject);
    c.on('close', (code) => {
      const stdoutBuf = Buffer.concat(out);
      resolve({ status: code ?? -1, stdout: stdoutBuf.toString(), stderr: Buffer.concat(err).toString(), stdoutBuf });
    });
  });
}
export const ostreeA = (args: string[]) => runAsync('ostree', args);
export const oursA = (args: string[]) => runAsync(process.execPath, [CLI, ...args]);
/** Let the server record requests answered so far. */
export const tick = () => new Promise((r) => setImmediate(r));

/** The error a pull is expected to fail with. */
export async function pullError(p: Promise<unknown>): Promise<OstreeError> {
  try {
    await p;
  } catch (e) {
    return e as OstreeError;
  }
  throw new Error('pull succeeded unexpectedly');
}

/** Relative paths of every file under objects/ (content as .content whatever the mode) plus the state/ markers. */
export function objectSet(repo: string): string[] {
  const out: string[] = [];
  const objs = path.join(repo, 'objects');
  for (const d of readdirSync(objs)) for (const f of readdirSync(path.join(objs, d))) out.push(`${d}/${f}`.replace(/\.file$|\.filez$/, '.content'));
  for (const f of existsSync(path.join(repo, 'state')) ? readdirSync(path.join(repo, 'state')) : []) out.push(`state/${f}`);
  return out.sort();
}

/** "REF CHECKSUM" lines of every ref, sorted (read by ostree). */
export function refsOf(repo: string): string {
  const refs = ok(ostree([`--repo=${repo}`, 'refs'])).split('\n').filter(Boolean).sort();
  return refs.map((r) => `${r} ${ok(ostree([`--repo=${repo}`, 'rev-parse', r]))}`).join('\n');
}

/**
 * A test PKI in `dir` (created): ca.pem/ca.key, server.pem/server.key for
 * 127.0.0.1 signed by the CA, client.pem/client.key (CN test-client) and an
 * unrelated other.pem CA. Returns `dir`.
 */
export function makeTestPki(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const sh = (cmd: string) => {
    const r = spawnSync('sh', ['-c', cmd], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  };
  sh('openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=Test CA"');
  sh('openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1"');
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  sh('openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext');
  sh('openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=test-client"');
  sh('openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2');
  // Another CA, not the server's.
  sh('openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 -subj "/CN=Other CA"');
  return dir;
}

export interface ClientOptions {
  gpgImport?: string;
  noGpg?: boolean;
  /** KEY=VALUE remote options. */
  set?: string[];
  /** Repo mode (default bare-user). */
  mode?: string;
}

/** A repo DIR/NAME made by ostree with remote "origin" at `url`. */
export function initClient(dir: string, name: string, url: string, opts: ClientOptions = {}): string {
  const repo = path.join(dir, name);
  ok(ostree([`--repo=${repo}`, 'init', `--mode=${opts.mode ?? 'bare-user'}`]));
  const args = [`--repo=${repo}`, 'remote', 'add'];
  if (opts.noGpg) args.push('--no-gpg-verify');
  if (opts.gpgImport) args.push(`--gpg-import=${opts.gpgImport}`);
  for (const s of opts.set ?? []) args.push(`--set=${s}`);
  args.push('origin', url);
  ok(ostree(args), 'remote add');
  return repo;
}
