#!/usr/bin/env node
'use strict';
// Child process for the checksum-throughput scenario.
//   node bench/checksum-files.js FILE...                 the library's checksumFiles (native jobs spread over the pool)
//   node bench/checksum-files.js --node-crypto FILE...   plain SHA-256 of the bytes with node:crypto,
//                                                         one file after another (a reference, not ostree's checksum)
// Prints one checksum per line.

const fs = require('node:fs');
const crypto = require('node:crypto');

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--node-crypto') {
    for (const f of args.slice(1)) {
      const h = crypto.createHash('sha256');
      for await (const chunk of fs.createReadStream(f, { highWaterMark: 1 << 20 })) h.update(chunk);
      process.stdout.write(`${h.digest('hex')}\n`);
    }
    return;
  }
  const { checksumFiles } = require('../dist/checksum');
  const res = await checksumFiles(args, {});
  process.stdout.write(res.map((r) => `${r.checksum}\n`).join(''));
}

main().catch((e) => {
  process.stderr.write(`error: ${e.message}\n`);
  process.exitCode = 1;
});
