// A process (child_process.fork) or worker thread that holds repo locks on
// command, for test/lock-process.test.ts. Plain JS on the compiled library
// (run `npx tsc -p .` first).
//   argv / workerData: { repo: PATH }
//   commands: {id, cmd: 'push', type, timeout?} | {id, cmd: 'pop', type} | {id, cmd: 'exit'}
//   replies:  {event: 'ready'} once the repo is open, then per command
//             {id, ok: true, t} or {id, ok: false, code, message, t}
// `t` is wall-clock milliseconds with sub-ms resolution, comparable across processes.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { Repo } = require('../../dist/index.js');
const { repoLock } = require('../../dist/lock.js');

const repoPath = parentPort ? workerData.repo : process.argv[2];
const send = parentPort ? (m) => parentPort.postMessage(m) : (m) => process.send(m);
const now = () => performance.timeOrigin + performance.now();

async function main() {
  const repo = await Repo.open(repoPath);
  const lock = await repoLock(repo);
  const onMessage = async (m) => {
    try {
      if (m.cmd === 'push') await lock.push(m.type, m.timeout === undefined ? {} : { timeout: m.timeout });
      else if (m.cmd === 'pop') await lock.pop(m.type);
      else if (m.cmd === 'exit') {
        if (parentPort) parentPort.close();
        else process.disconnect();
        return;
      }
      send({ id: m.id, ok: true, t: now(), state: lock.state });
    } catch (err) {
      send({ id: m.id, ok: false, code: err.code, message: err.message, t: now() });
    }
  };
  if (parentPort) parentPort.on('message', onMessage);
  else process.on('message', onMessage);
  send({ event: 'ready' });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
