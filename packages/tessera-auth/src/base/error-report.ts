import { TesseraError } from './errors.js';

/** An error no TesseraError code describes (a bug, a misconfiguration), as it is reported. */
export interface UnexpectedError {
  /** Also in the 500 answer's body (`error_id`): what a user quotes, what the logs are searched for. */
  readonly id: string;
  readonly error: unknown;
  /** The request it broke, when there was one. */
  readonly method?: string | undefined;
  readonly path?: string | undefined;
}

/** Where unexpected errors go (`createAuth({ onError })`, `problemHandler({ onError })`, `bearer({ onError })`). */
export type ErrorReporter = (report: UnexpectedError) => void;

/** Whether an error is answered 500: anything but a TesseraError, and the misconfiguration codes. */
export const isUnexpected = (error: unknown): boolean =>
  !(error instanceof TesseraError) || error.code === 'invalid_config' || error.code === 'key_invalid';

/** An error on one line: its stack (or name and message), joined, so log collectors keep it together. */
const oneLine = (error: unknown): string =>
  (error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error)).replace(/\n\s*/g, ' | ');

/** The default reporter: one line on stderr with the id the answer carries, the request and the error. */
export const logUnexpectedError: ErrorReporter = ({ id, error, method, path }) => {
  const where = method === undefined ? '' : ` in ${method} ${path ?? ''}`;
  console.error(`tessera: unexpected error ${id}${where}: ${oneLine(error)}`);
};

/** Reports an unexpected error and returns its id. Never throws: if `onError` does, both go to the default line. */
export function reportUnexpected(error: unknown, onError: ErrorReporter | undefined, request?: { method?: string; path?: string }): string {
  const id = globalThis.crypto.randomUUID().slice(0, 13);
  const report = { id, error, method: request?.method, path: request?.path };
  try {
    (onError ?? logUnexpectedError)(report);
  } catch (failure) {
    logUnexpectedError(report);
    console.error(`tessera: the onError hook threw on error ${id}: ${oneLine(failure)}`);
  }
  return id;
}
