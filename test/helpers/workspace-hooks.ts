import { readFileSync } from 'node:fs';

/**
 * A resolve hook: each `tessera-auth` entry point (the package's `exports`) maps to the library's
 * file compiled into .test-build, so the server and the tests share one copy of every class
 * (`instanceof TesseraError` must hold across them).
 */
const compiled = new URL('../../packages/tessera-auth/src/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('../../../packages/tessera-auth/package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, string | { default: string }>;
};
const entries = new Map<string, string>(
  Object.entries(manifest.exports).flatMap(([subpath, target]) =>
    typeof target === 'object'
      ? [[`tessera-auth${subpath.slice(1)}`, new URL(target.default.replace('./dist/', ''), compiled).href] as const]
      : [],
  ),
);

type Next = (specifier: string, context: unknown) => unknown;

export function resolve(specifier: string, context: unknown, next: Next): unknown {
  const url = entries.get(specifier);
  return url ? { url, shortCircuit: true } : next(specifier, context);
}
