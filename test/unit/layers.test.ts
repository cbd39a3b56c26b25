import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The layers point one way (see README, Architecture). These checks read the sources' import lines, so a
// change that reaches around a layer fails here, not in a review.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sources(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) out.push(path);
    }
  };
  walk(join(ROOT, folder));
  return out;
}

/** Every relative import of every source file in `folder`, as a path from the repository root. */
function importsOf(folder: string): { file: string; target: string }[] {
  return sources(folder).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g), ...text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)]
      .map((m) => ({ file: relative(ROOT, file), target: relative(ROOT, resolve(dirname(file), m[1]!)) }));
  });
}

const reaching = (folder: string, forbidden: string[]) =>
  importsOf(folder).filter(({ target }) => forbidden.some((f) => target === f || target.startsWith(`${f}/`))).map(({ file, target }) => `${file} → ${target}`);

describe('the layers point one way', () => {
  it('firmware-bridge, the only code that touches a wire, imports nothing of the controller, the API, the simulator or the commands', () => {
    expect(reaching('firmware-bridge', ['controller', 'admin-api', 'simulator', 'bin', 'http-common'])).toEqual([]);
  });

  it('the controller knows no HTTP and no simulator', () => {
    expect(reaching('controller', ['admin-api', 'simulator', 'bin', 'http-common'])).toEqual([]);
  });

  it('the simulator shares no internals with the API (shared HTTP pieces live in http-common)', () => {
    expect(reaching('simulator', ['admin-api'])).toEqual([]);
  });

  it('http-common is shared by the servers and depends on none of them', () => {
    expect(reaching('http-common', ['controller', 'admin-api', 'simulator', 'firmware-bridge', 'bin'])).toEqual([]);
  });

  it('the admin API writes no SQL: it asks the controller', () => {
    const sql = sources('admin-api').filter((f) => /\.prepare\(|\.exec\(\s*['`]|\bINSERT INTO\b|\bUPDATE \w+ SET\b|\bDELETE FROM\b/.test(readFileSync(f, 'utf8')));
    expect(sql.map((f) => relative(ROOT, f))).toEqual([]);
  });
});
