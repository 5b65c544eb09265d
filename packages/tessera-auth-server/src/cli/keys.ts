import { type Algorithm, ALGORITHMS, generateKeyFile, readKeyFiles, rotateKeys, setKeyStatus } from 'tessera-auth/tokens';
import { parseFlags, UsageError } from './parse-flags.js';

export const KEYS_USAGE = `Usage: tessera keys <command>

  generate --alg ALG --out DIR [--status active|next]
                          write a new key (private keys 0600); ALG: ${ALGORITHMS.join(', ')} (EdDSA)
  list --dir DIR          every key: kid, algorithm, status, dates
  rotate --dir DIR [--alg ALG] [--max-token-lifetime SECONDS]
                          one step of a rotation without downtime:
                          no "next" key yet: create one (published, not signing);
                          otherwise: next becomes active, active retires until its tokens expire
                          (max token lifetime, default 3600 s), and a new next key is made
  revoke KID --dir DIR    emergency: every token the key signed dies at once

Servers sharing the directory pick up changes within seconds, without a restart.`;

const algorithm = (value: string | undefined): Algorithm => {
  const alg = value ?? 'EdDSA';
  if (!(ALGORITHMS as readonly string[]).includes(alg)) throw new UsageError(`--alg must be one of ${ALGORITHMS.join(', ')}.`);
  return alg as Algorithm;
};

export function runKeys(argv: readonly string[]): void {
  const [command, ...rest] = argv;
  // A kid is base64url and may begin with "-" or "--" (one kid in 64, one in 4096): take it before
  // the option parser reads it as a flag. Only the options revoke knows are options there.
  const first = rest[0];
  const isOption =
    first !== undefined && (first === '-h' || ['--dir', '--help'].some((option) => first === option || first.startsWith(`${option}=`)));
  const leadingKid = command === 'revoke' && first !== undefined && !isOption ? first : undefined;
  const { values, positionals } = parseFlags(
    {
      args: leadingKid === undefined ? [...rest] : rest.slice(1),
      options: {
        alg: { type: 'string' },
        out: { type: 'string' },
        dir: { type: 'string' },
        status: { type: 'string' },
        'max-token-lifetime': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: command === 'revoke',
      strict: true,
    },
    'tessera keys --help',
  );
  const dir = (flag: 'dir' | 'out') => {
    const value = values[flag];
    if (!value) throw new UsageError(`--${flag} DIR is required.`);
    return value;
  };

  // Every subcommand answers --help, before it checks anything else.
  if (values.help) return console.log(KEYS_USAGE);
  switch (command) {
    case 'generate': {
      const status = values.status ?? 'active';
      if (status !== 'active' && status !== 'next') throw new UsageError('--status must be active or next.');
      const target = dir('out');
      if (status === 'active' && readKeyFiles(target).some((file) => file.status === 'active')) {
        throw new UsageError(`${target} already has an active key; use "tessera keys rotate".`);
      }
      const file = generateKeyFile(target, algorithm(values.alg), status);
      return console.log(`${file.kid} ${file.alg} ${file.status}`);
    }
    case 'list': {
      const files = readKeyFiles(dir('dir'));
      if (files.length === 0) return console.log('no keys');
      for (const file of files) console.log([file.kid, file.alg, file.status, file.created_at, file.not_after ?? ''].join('\t').trimEnd());
      return;
    }
    case 'rotate': {
      const lifetime = Number(values['max-token-lifetime'] ?? 3600);
      if (!Number.isFinite(lifetime) || lifetime <= 0) throw new UsageError('--max-token-lifetime must be a positive number of seconds.');
      const result = rotateKeys(dir('dir'), { alg: algorithm(values.alg), maxTokenLifetimeSeconds: lifetime });
      if ('promoted' in result) console.log(`active: ${result.promoted}\nretiring: ${result.retired ?? '-'}\nnext: ${result.created.kid}`);
      else console.log(`${result.created.status}: ${result.created.kid}`);
      return;
    }
    case 'revoke': {
      const kid = leadingKid ?? positionals[0];
      if (!kid) throw new UsageError('tessera keys revoke KID --dir DIR');
      setKeyStatus(dir('dir'), kid, 'revoked');
      return console.log(`revoked: ${kid}`);
    }
    case undefined:
    case 'help':
    case '--help':
      return console.log(KEYS_USAGE);
    default:
      throw new UsageError(`Unknown keys command "${command}".\n\n${KEYS_USAGE}`);
  }
}
