import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';

const run = promisify(execFile);
const ROOT = resolve('.');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const DOCS = ['README.md', 'packages/tessera-auth/README.md', ...readdirSync('docs').map((name) => `docs/${name}`)].filter((path) =>
  path.endsWith('.md'),
);

/** A fenced TypeScript or JavaScript block, where it is, and what it assumes (an `<!-- assumes: … -->` comment above it). */
interface Snippet {
  readonly where: string;
  readonly code: string;
  readonly assumes: string;
}

/** Every `ts` and `js` block of a Markdown text. */
export function snippetsOf(path: string, text: string): Snippet[] {
  const snippets: Snippet[] = [];
  const fence = /(?:<!-- assumes: ([\s\S]*?) -->\n\n?)?^```(?:ts|js|typescript|javascript)\n([\s\S]*?)^```/gm;
  for (const match of text.matchAll(fence)) {
    const line = text.slice(0, match.index! + match[0].indexOf('```')).split('\n').length;
    snippets.push({ where: `${path}:${line}`, code: match[2]!, assumes: match[1] ?? '' });
  }
  return snippets;
}

/** Type-checks snippets in `project` (strict, the packed packages' own types, no skipLibCheck); the errors, by snippet. */
async function typeCheck(project: string, snippets: readonly Snippet[]): Promise<string[]> {
  const files = snippets.map((snippet, index) => {
    const file = `snippet-${index}.ts`;
    // The assumptions first, then the snippet as a module of its own (its names shadow the assumed ones).
    writeFileSync(join(project, file), `${snippet.assumes}\n${snippet.code}\nexport {};\n`);
    return file;
  });
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022', 'DOM'],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
      },
      files,
    }),
  );
  const { stdout } = await run(process.execPath, [TSC, '-p', project], { cwd: project }).catch((failure: { stdout: string }) => failure);
  return (
    stdout
      .split('\n')
      .filter((line) => /error TS\d+/.test(line))
      // Another package's own declarations (ioredis's under skipLibCheck: false) are its business; Tessera's are ours.
      .filter((line) => !line.startsWith('node_modules/') || line.startsWith('node_modules/tessera-auth/'))
      .map((line) => {
        const index = Number(/^snippet-(\d+)\.ts/.exec(line)?.[1]);
        return `${snippets[index]?.where ?? '?'}: ${line.replace(/^snippet-\d+\.ts/, '')}`;
      })
  );
}

/**
 * Every TypeScript and JavaScript snippet of the README and the guides compiles in strict mode
 * against the packed packages, as a user who copies it into a TypeScript project would see it. A
 * fragment says what it assumes (`<!-- assumes: declare const app: Express; -->` above it).
 */
describe('the documentation snippets', () => {
  let project = '';
  let packs = '';

  before(async () => {
    packs = mkdtempSync(join(tmpdir(), 'tessera-snippet-packs-'));
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packs, '-w', 'tessera-auth'], {
      cwd: ROOT,
    });
    const [tarball] = (JSON.parse(stdout) as { filename: string }[]).map((entry) => join(packs, entry.filename));
    project = mkdtempSync(join(tmpdir(), 'tessera-snippets-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'snippets', private: true, type: 'module' }));
    const dependencies = ['express', '@types/express', 'fastify', 'hono', '@hono/node-server', 'ioredis', 'postgres', 'eventsource-parser'];
    // Types only for the native driver: nothing to compile. The current @types/node (the repository builds with Node 20's).
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel', 'error', tarball!, ...dependencies, '@types/better-sqlite3', '@types/node'],
      {
        cwd: project,
        maxBuffer: 16 << 20,
      },
    );
  });
  after(() => {
    rmSync(project, { recursive: true, force: true });
    rmSync(packs, { recursive: true, force: true });
  });

  it('all compile in strict mode against the packed packages and the current @types/node', async () => {
    const snippets = DOCS.flatMap((path) => snippetsOf(path, readFileSync(path, 'utf8')));
    assert.ok(snippets.length >= 15, `found ${snippets.length} snippets`);
    assert.deepEqual(await typeCheck(project, snippets), []);
  });

  it("all compile against Node 20's @types/node too (the oldest Node the packages support)", async () => {
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel', 'error', '@types/node@20'], { cwd: project });
    const snippets = DOCS.flatMap((path) => snippetsOf(path, readFileSync(path, 'utf8')));
    assert.deepEqual(await typeCheck(project, snippets), []);
  });

  it('the checker fails on a broken snippet, and says where it is', async () => {
    const broken = snippetsOf(
      'broken.md',
      "# A guide\n\n```ts\nimport { createAuth } from 'tessera-auth';\n\ncreateAuth({ strategy: 'stateles' });\n```\n",
    );
    const errors = await typeCheck(project, broken);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /^broken\.md:3: \(4,\d+\): error TS\d+: Type .*"stateles"/);
  });
});
