#!/usr/bin/env node
// Prints a list from binding.gyp's node_ostree target as a CMake list
// ("a;b;c"), so CMakeLists.txt builds exactly what node-gyp builds:
//   gyp-list.js sources      -> native/addon.cc;native/args.cc;...
//   gyp-list.js static-libs  -> liblzma.a;libz.a  (the `-print-file-name=X`
//                               entries of "libraries")
// binding.gyp is gyp's Python literal kept JSON-like: double-quoted strings;
// whole-line `#` comments and trailing commas are accepted.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const what = process.argv[2];
const text = fs.readFileSync(path.join(__dirname, '..', 'binding.gyp'), 'utf8')
  .replace(/^\s*#.*$/gm, '')
  .replace(/,(\s*[\]}])/g, '$1');
const target = JSON.parse(text).targets.find((t) => t.target_name === 'node_ostree');
let list;
if (what === 'sources') {
  list = target.sources;
} else if (what === 'static-libs') {
  list = (target.libraries || []).map((l) => /-print-file-name=([^)\s]+)/.exec(l)).filter(Boolean).map((m) => m[1]);
} else {
  console.error('usage: gyp-list.js sources|static-libs');
  process.exit(2);
}
process.stdout.write(list.join(';'));
