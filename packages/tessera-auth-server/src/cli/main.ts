#!/usr/bin/env node
import { TesseraError } from 'tessera-auth';
import { startServer } from '../server/serve.js';
import { StartupError } from '../server/startup.js';
import { runBench } from './bench.js';
import { runKeys } from './keys.js';
import { UsageError } from './parse-flags.js';
import { parseServeOptions, SERVE_USAGE } from './serve-options.js';

const USAGE = `Usage: tessera <command>

Commands:
  serve    run the identity server (tessera serve --help)
  keys     generate, list, rotate and revoke signing keys (tessera keys help)
  bench    the benchmark lab, from a source checkout (tessera bench --help)`;

async function serve(argv: string[]): Promise<void> {
  const options = parseServeOptions(argv, process.env);
  if (options === 'help') return console.log(SERVE_USAGE);
  const starting = startServer(options);
  // Listening for signals from the start: a SIGTERM right after the ready line still drains.
  const stop = () => {
    starting.then(
      (running) =>
        running.close().then(
          () => process.exit(0),
          (error: unknown) => {
            running.logger.error({ event: 'shutdown_failed', error: String(error) });
            process.exit(1);
          },
        ),
      () => undefined, // a failed start is reported by main
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await starting;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'keys':
      return runKeys(rest);
    case 'bench':
      return runBench(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      return console.log(USAGE);
    default:
      throw new UsageError(`Unknown command "${command}".\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    console.error(error.message);
    process.exit(2);
  }
  // What the operator must fix, in one line; anything else is a bug, with its stack.
  console.error(error instanceof TesseraError || error instanceof StartupError ? `tessera: ${error.message}` : error);
  process.exit(1);
});
