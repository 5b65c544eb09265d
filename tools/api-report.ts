/**
 * The public surface of each package, one report per entry point (`packages/<name>/api/*.api.md`),
 * made by API Extractor from the built declarations. `npm run api` rewrites the reports;
 * `npm run api:check` (part of `npm test`) fails when the surface changed and the reports were not
 * updated, so a change to the public API always shows in review. Any API Extractor warning fails
 * both: a type reachable from an export but not exported itself, a broken doc comment.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Extractor, ExtractorConfig, ExtractorLogLevel, type ExtractorMessage } from '@microsoft/api-extractor';
import ts from 'typescript';

const PACKAGES = ['tessera-auth', 'tessera-auth-server'];
const check = process.argv.includes('--check');
const temp = mkdtempSync(join(tmpdir(), 'tessera-api-'));
const problems: string[] = [];

type Exports = Record<string, string | { types?: string }>;

/** The names a declaration file exports. */
function exportedNames(dtsPath: string): Set<string> {
  const program = ts.createProgram([dtsPath], { noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(dtsPath);
  const symbol = file && checker.getSymbolAtLocation(file);
  return new Set(symbol ? checker.getExportsOfModule(symbol).map((exported) => exported.name) : []);
}

for (const name of PACKAGES) {
  const folder = resolve('packages', name);
  const exports = (JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { exports: Exports }).exports;
  // A subpath may use types the main entry exports (an adapter takes an `Auth`) without exporting them again.
  const main = exports['.'];
  const mainNames = typeof main === 'object' && main.types ? exportedNames(join(folder, main.types)) : new Set<string>();
  for (const [subpath, target] of Object.entries(exports)) {
    if (typeof target === 'string' || !target.types) continue;
    const reportName = subpath === '.' ? name : `${name}.${subpath.slice(2)}`;
    const config = ExtractorConfig.prepare({
      configObject: {
        projectFolder: folder,
        mainEntryPointFilePath: join(folder, target.types),
        compiler: { tsconfigFilePath: join(folder, 'tsconfig.build.json') },
        apiReport: { enabled: true, reportFileName: `${reportName}.api.md`, reportFolder: join(folder, 'api'), reportTempFolder: temp },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          // Release tags (@public, @beta) are not used: an export is public by being exported. Missing
          // documentation is the API reference's check (typedoc.json), which knows what needs it.
          extractorMessageReporting: {
            default: { logLevel: ExtractorLogLevel.Warning },
            'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
            'ae-undocumented': { logLevel: ExtractorLogLevel.None },
          },
          tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
          compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
        },
      },
      configObjectFullPath: join(folder, 'api-extractor.json'),
      packageJsonFullPath: join(folder, 'package.json'),
    });
    const result = Extractor.invoke(config, {
      localBuild: !check,
      messageCallback(message: ExtractorMessage) {
        const forgotten = message.messageId === 'ae-forgotten-export' && /The symbol "([^"]+)"/.exec(message.text)?.[1];
        if (subpath !== '.' && forgotten && mainNames.has(forgotten)) message.logLevel = ExtractorLogLevel.None;
        if (message.logLevel === ExtractorLogLevel.Warning || message.logLevel === ExtractorLogLevel.Error) {
          problems.push(`${reportName}: ${message.formatMessageWithLocation(process.cwd())}`);
        }
        message.handled = true;
      },
    });
    if (check && result.apiReportChanged)
      problems.push(`${reportName}: the public API changed; run npm run api and commit packages/${name}/api/`);
  }
}
rmSync(temp, { recursive: true, force: true });
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exitCode = 1;
} else {
  process.stdout.write(check ? 'API reports match the packages.\n' : 'API reports written.\n');
}
