import { parseArgs, type ParseArgsConfig } from 'node:util';
import { distance } from 'fastest-levenshtein';

/** A command line the CLI cannot run: printed as is, exit code 2. */
export class UsageError extends Error {}

/** The flag closest to `typed` (`--prot`: `port`), if one is close enough to be what was meant. */
function closestFlag(typed: string, flags: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(typed.length / 3)) + 1;
  for (const flag of flags) {
    const d = distance(typed, flag);
    if (d < bestDistance) [best, bestDistance] = [flag, d];
  }
  return best;
}

/** `parseArgs`, with an unknown flag answered by the closest known one and where the help is. */
export function parseFlags<T extends ParseArgsConfig>(config: T, help: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw error;
    const typed = /'(-{1,2}[^'=\s]+)/.exec((error as Error).message)?.[1] ?? '';
    const suggestion = closestFlag(typed.replace(/^-+/, ''), Object.keys(config.options ?? {}));
    throw new UsageError(`Unknown option ${typed}${suggestion ? `: did you mean --${suggestion}?` : '.'} See ${help}.`);
  }
}
