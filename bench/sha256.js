#!/usr/bin/env node
'use strict';
// Single-stream SHA-256 throughput of the addon's block functions (portable,
// SHA-NI) against node:crypto (OpenSSL) on the same 1 MiB buffer, best of N.
//   node bench/sha256.js [--mib 256] [--runs 7]
// Uses dist/ (npm run build) and the addon lib/binding.ts loads.
const crypto = require('node:crypto');
const { native } = require('../dist/binding');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const mib = arg('mib', 256);
const runs = arg('runs', 7);
const addon = native();
const buf = crypto.randomBytes(1 << 20);

// GB/s hashing `n` MiB with fn(n), best of `runs`.
function best(n, fn) {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    fn(n);
    min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return (n * 1.048576) / 1000 / min;
}

const rows = [];
const info = addon.sha256_info();
for (const impl of info.shaNi ? ['sha-ni', 'portable'] : ['portable']) {
  // The portable path is ~6x slower: a quarter of the data keeps the run short.
  const n = impl === 'portable' ? Math.max(1, mib >> 2) : mib;
  rows.push([impl, best(n, (k) => addon.sha256_digest([buf], { impl, repeat: k }))]);
}
rows.push(['node:crypto', best(mib, (k) => {
  const h = crypto.createHash('sha256');
  for (let i = 0; i < k; i++) h.update(buf);
  h.digest();
})]);
console.log(`SHA-256, one stream, ${mib} MiB, best of ${runs} (selected: ${info.selected})`);
for (const [name, gbs] of rows) console.log(`${name.padEnd(12)} ${gbs.toFixed(2)} GB/s`);
