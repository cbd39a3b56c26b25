#!/usr/bin/env node
// `npm run build`: compiles the TypeScript to dist/ and copies the pages beside their modules.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

function copyPages(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) copyPages(path);
    else if (name.endsWith('.html')) cpSync(path, join(dist, relative(root, path)));
  }
}
for (const folder of ['admin-api', 'simulator']) copyPages(join(root, folder));
