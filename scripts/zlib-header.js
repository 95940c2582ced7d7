#!/usr/bin/env node
// Prints, in double quotes, the absolute path of the zlib.h that the C compiler
// finds on its own (Debian's zlib1g-dev: /usr/include/zlib.h), i.e. the header
// of the static libz.a we link. node-gyp and cmake-js put Node's headers first
// on the include path, and Node's zlib.h can be a different release (Node 20
// ships 1.3.1, bookworm's libz.a is 1.2.13), so native/zlib_static.h includes
// this exact file through the OSTREE_ZLIB_H define.
'use strict';
const { execFileSync } = require('node:child_process');

const cc = process.env.CC || 'cc';
const deps = execFileSync('sh', ['-c', `${cc} -M -x c -`], { input: '#include <zlib.h>\n', encoding: 'utf8' });
const header = deps.split(/[\s\\]+/).find((p) => p.endsWith('/zlib.h'));
if (!header) {
  console.error('zlib-header: the compiler finds no zlib.h (install zlib1g-dev)');
  process.exit(1);
}
process.stdout.write(`"${header}"`);
