import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

/** The layer rule of eslint.config.js, shown to hold: each import against the layers is an error. */
describe('the layers are enforced by the lint', () => {
  const eslint = new ESLint();
  const violations = async (filePath: string, code: string) =>
    (await eslint.lintText(code, { filePath }))[0]!.messages
      .filter((message) => message.ruleId === 'no-restricted-imports')
      .map((message) => message.message);

  for (const [file, code] of [
    ['packages/tessera-auth/src/base/probe.ts', "import type { Store } from '../stores/store.js';\nexport type P = Store;\n"],
    ['packages/tessera-auth/src/stores/probe.ts', "import type { Auth } from '../core/create-auth.js';\nexport type P = Auth;\n"],
    [
      'packages/tessera-auth/src/tokens/probe.ts',
      "import { createSessionManager } from '../sessions/session-manager.js';\nexport const p = createSessionManager;\n",
    ],
    ['packages/tessera-auth/src/core/probe.ts', "import { toProblem } from '../http/problem.js';\nexport const p = toProblem;\n"],
    ['packages/tessera-auth/src/client/probe.ts', "import { TesseraError } from '../base/errors.js';\nexport const p = TesseraError;\n"],
    ['packages/tessera-auth/src/http/probe.ts', "import { startServer } from 'tessera-auth-server';\nexport const p = startServer;\n"],
    [
      'packages/tessera-auth-server/src/server/probe.ts',
      "import { createAuth } from '../../../tessera-auth/src/core/create-auth.js';\nexport const p = createAuth;\n",
    ],
  ] as const) {
    it(`refuses ${code.split('\n')[0]} in ${file.replace('packages/', '').replace('/probe.ts', '/')}`, async () => {
      assert.equal((await violations(file, code)).length, 1);
    });
  }

  it("allows an import down the layers, and the server through the library's entry points", async () => {
    assert.deepEqual(
      await violations(
        'packages/tessera-auth/src/http/probe.ts',
        "import { createAuth } from '../core/create-auth.js';\nexport const p = createAuth;\n",
      ),
      [],
    );
    assert.deepEqual(
      await violations(
        'packages/tessera-auth-server/src/server/probe.ts',
        "import { createAuth } from 'tessera-auth';\nexport const p = createAuth;\n",
      ),
      [],
    );
  });
});
