// ostree trivial-httpd: serve a directory (normally an archive repo) on
// 127.0.0.1 for tests, with the test server's fault-injection options.
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { CommandSpec, ParsedArgs } from '../options';
import { str, strs } from '../options';
import type { Ctx } from '../context';

export const spec: CommandSpec = {
  name: 'trivial-httpd',
  params: '[DIR]',
  summary: 'Simple webserver',
  options: [
    { long: 'daemonize', short: 'd', arg: 'none', description: 'Fork into background when ready' },
    { long: 'autoexit', arg: 'none', description: 'Automatically exit when directory is deleted' },
    { long: 'port-file', short: 'p', arg: 'filename', argName: 'PATH', description: 'Write port number to PATH (- for standard output)' },
    { long: 'port', short: 'P', arg: 'int', argName: 'PORT', description: 'Use the specified TCP port to listen on' },
    { long: 'force-range-requests', arg: 'none', description: 'Force range requests by only serving half of files' },
    { long: 'require-basic-auth', arg: 'none', description: 'Require username foouser, password barpw' },
    { long: 'random-500s', arg: 'int', argName: 'PERCENTAGE', description: 'Generate random HTTP 500 errors approximately for PERCENTAGE requests' },
    { long: 'random-500s-max', arg: 'int', argName: 'MAX', description: 'Limit HTTP 500 errors to MAX (default 100)' },
    { long: 'random-408s', arg: 'int', argName: 'PERCENTAGE', description: 'Generate random HTTP 408 errors approximately for PERCENTAGE requests' },
    { long: 'random-408s-max', arg: 'int', argName: 'MAX', description: 'Limit HTTP 408 errors to MAX (default 100)' },
    { long: 'log-file', arg: 'filename', argName: 'PATH', description: 'Put logs here (use - for stdout)' },
    { long: 'expected-cookies', arg: 'strings', argName: 'NAME=VALUE', description: 'Expect given cookies in the http request' },
    { long: 'expected-header', arg: 'strings', argName: 'NAME=VALUE', description: 'Expect given headers in the http request' },
  ],
};

const CHILD_ENV = 'NODE_OSTREE_HTTPD_DAEMON_CHILD';

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const dir = path.resolve(args.positional[0] ?? '.');
  const portFile = str(args.opts['port-file']);

  if (args.opts.daemonize && !process.env[CHILD_ENV]) {
    // Re-run ourselves in the background; return once the child listens.
    const argv = process.argv.slice(1).filter((a) => a !== '-d' && a !== '--daemonize');
    const child = spawn(process.execPath, argv, {
      detached: true,
      stdio: ['ignore', portFile === '-' ? 'pipe' : 'ignore', 'ignore', 'ipc'],
      env: { ...process.env, [CHILD_ENV]: '1' },
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`trivial-httpd child exited with status ${code}`)));
    });
    if (portFile === '-') ctx.out(`${port}\n`);
    child.stdout?.destroy();
    child.disconnect();
    child.unref();
    return 0;
  }

  const { serveRepo } = await import('../../httpd');
  const server = await serveRepo(dir, {
    port: num(args.opts.port) ?? 0,
    forceRangeRequests: !!args.opts['force-range-requests'],
    requireBasicAuth: !!args.opts['require-basic-auth'],
    random500s: num(args.opts['random-500s']),
    random500sMax: num(args.opts['random-500s-max']),
    random408s: num(args.opts['random-408s']),
    random408sMax: num(args.opts['random-408s-max']),
    logFile: str(args.opts['log-file']),
    expectedCookies: strs(args.opts['expected-cookies']),
    expectedHeaders: strs(args.opts['expected-header']),
    // A long-running server: nothing reads the request list.
    keepRequests: false,
    // As ostree-trivial-httpd: the operator's symlinks are followed (`..` stays refused).
    followSymlinks: true,
  });
  if (portFile === '-') ctx.out(`${server.port}\n`);
  else if (portFile) {
    const tmp = `${portFile}.tmp-${process.pid}`;
    await fsp.writeFile(tmp, `${server.port}\n`);
    await fsp.rename(tmp, portFile);
  }
  if (process.env[CHILD_ENV] && process.send) {
    process.send({ port: server.port });
    process.disconnect?.();
  }
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      // The --autoexit poll would otherwise keep the process alive after SIGTERM.
      if (timer) clearInterval(timer);
      await server.close();
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (args.opts.autoexit) {
      timer = setInterval(() => {
        fsp.stat(dir).catch(() => void stop());
      }, 250);
    }
  });
  return 0;
}
