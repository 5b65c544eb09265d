import assert from 'node:assert/strict';
import { it, mock } from 'node:test';
import { ConfigError, InvalidRequestError } from '../../packages/tessera-auth/src/base/errors.js';
import { isUnexpected } from '../../packages/tessera-auth/src/base/error-report.js';
import { problemAnswer } from '../../packages/tessera-auth/src/http/adapter-glue.js';

/** console.error's calls while `run` runs. */
function errorLines(run: () => void): string[] {
  const spy = mock.method(console, 'error', () => {});
  try {
    run();
    return spy.mock.calls.map((call) => call.arguments.join(' '));
  } finally {
    spy.mock.restore();
  }
}

it('by default an unexpected error is one line on stderr, with the id the answer carries, the request and the stack', () => {
  let answer: ReturnType<typeof problemAnswer> | undefined;
  const lines = errorLines(() => {
    answer = problemAnswer(new TypeError('x is not a function'), 'cookie', { method: 'POST', path: '/orders' });
  });
  const { error_id: id } = JSON.parse(answer!.body) as { error_id: string };
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, new RegExp(`^tessera: unexpected error ${id} in POST /orders: TypeError: x is not a function \\| at `));
  assert.doesNotMatch(lines[0]!, /\n/);
});

it('a misconfiguration found at request time is reported too; expected errors are not', () => {
  assert.equal(isUnexpected(new ConfigError('tokens.keys must be a key ring.')), true);
  assert.equal(isUnexpected(new InvalidRequestError('Boom.')), false);
  const lines = errorLines(() => void problemAnswer(new InvalidRequestError('Boom.')));
  assert.deepEqual(lines, [], 'a 400 is the client’s business, not the log’s');
});

it('a reporter that throws does not lose the error: both go to the default line', () => {
  const lines = errorLines(() => {
    const answer = problemAnswer(new RangeError('out of range'), 'cookie', {
      onError: () => {
        throw new Error('the log shipper is down');
      },
    });
    assert.equal(answer.status, 500);
  });
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /unexpected error \S+: RangeError: out of range/);
  assert.match(lines[1]!, /the onError hook threw on error \S+: Error: the log shipper is down/);
});
