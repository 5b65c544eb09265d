/** The lab's Markdown: the seed's comparison measured, every contender, the 1 ms Redis run, ratios, targets. */
import type { Kind } from './lab-contenders.js';
import { PEERS } from './lab-contenders.js';
import type { Machine } from './harness.js';
import type { Refusal, RevocationTiming } from './revocation-probe.js';

export interface LabRow {
  id: string;
  name: string;
  kind: Kind;
  tessera: boolean;
  state: string;
  usesRedis: boolean;
  delayed: boolean;
  rps: number;
  /** Requests per second of each round, in the order they ran: the spread shows the noise. */
  rpsRounds: number[];
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
  redisPerRequest: number | null;
  /** Statements PostgreSQL ran per request (pg_stat_statements), for the PostgreSQL rows. */
  postgresPerRequest: number | null;
  failed: number;
  credentialBytes: number;
  /** `bearer`, `none`, or the session cookie's protections as the login set them. */
  transport: string;
  revocation: RevocationTiming | null;
}

export interface LabResult {
  machine: Machine & { loadGenerator: string };
  settings: { rounds: number; secondsPerRound: number; connections: number; delayMs: number; giveUpAfterMs: number };
  redisRoundTripMs: { loopback: number; delayed: number };
  rows: LabRow[];
}

/** The seed's columns: its two architectures as people build them, and Tessera's three answers. */
const SEED_COLUMNS = [
  'express-session-redis',
  'tessera-stateful-redis',
  'tessera-stateful-redis-cached',
  'blacklist-string',
  'fast-jwt',
  'tessera-stateless-redis',
  'tessera-hybrid',
];

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n < 10 ? n.toFixed(1) : Math.round(n).toString());
const table = (head: string[], rows: (string | number)[][], align: string[] = head.map((_, i) => (i === 0 ? '---' : '---:'))) =>
  [`| ${head.join(' | ')} |`, `|${align.join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function renderReport(result: LabResult): string {
  const { machine: m, settings: s, redisRoundTripMs: rtt } = result;
  const rows = result.rows;
  const byId = (id: string) => rows.find((r) => r.id === id);
  const row = (id: string) => byId(id) ?? missing(id);
  /** The copy of `id` in the same run kind: a delayed row's peers are delayed too when they use Redis. */
  const twin = (id: string, delayed: boolean) => (delayed && byId(`${id}+delay`)) || row(id);
  const ceiling = row('no-auth');
  const giveUp = `still accepted after ${s.giveUpAfterMs / 1000} s`;
  const revoked = (value: Refusal | 'not shared' | undefined) =>
    value === undefined
      ? '–'
      : value === null
        ? giveUp
        : value === 'not shared'
          ? 'never accepted there'
          : value.acceptedAfterLogout === 0
            ? 'next request'
            : `${ms(value.afterMs)} ms`;
  const delay = `store +${s.delayMs} ms`;

  const header = [
    `${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}. Median of ${s.rounds} interleaved round${s.rounds > 1 ? 's' : ''} of ${s.secondsPerRound} s per contender, ${s.connections} connections, ${m.loadGenerator} on the same machine.`,
    `Redis round trip (PING): ${rtt.loopback.toFixed(2)} ms on loopback, ${rtt.delayed.toFixed(2)} ms through the delaying proxy ("${delay}"); PostgreSQL goes through a proxy of its own that holds each direction as long.`,
    `Every token is HS256; every revocation list holds 1,000 revoked ids. "Logout refused": after the logout answered, the instance that served it and a second instance of the same contender (same keys, same store) are asked again and again; "next request" means the first request after the logout was refused, a time means some were still accepted until then.`,
  ].join(' ');

  const seed = table(
    ['', ...SEED_COLUMNS.map((id) => row(id).name)],
    [
      ['Where the state lives', ...SEED_COLUMNS.map((id) => row(id).state)],
      ['Store commands per request', ...SEED_COLUMNS.map((id) => storeWork(row(id)))],
      ['Server CPU per request', ...SEED_COLUMNS.map((id) => `${int(row(id).cpuMicrosPerRequest)} µs`)],
      ['Requests/s, Redis on loopback', ...SEED_COLUMNS.map((id) => int(row(id).rps))],
      [`Requests/s, ${delay}`, ...SEED_COLUMNS.map((id) => int(twin(id, true).rps))],
      [`Latency p50 / p99, ${delay}`, ...SEED_COLUMNS.map((id) => `${ms(twin(id, true).p50)} / ${ms(twin(id, true).p99)} ms`)],
      ['Logout refused, same instance', ...SEED_COLUMNS.map((id) => revoked(row(id).revocation?.here))],
      ['Logout refused, another instance', ...SEED_COLUMNS.map((id) => revoked(row(id).revocation?.elsewhere))],
      ['Credential sent per request', ...SEED_COLUMNS.map((id) => `${row(id).credentialBytes} bytes`)],
      ['XSS / CSRF exposure', ...SEED_COLUMNS.map((id) => exposure(row(id).transport))],
      ['A forged logout from a sibling subdomain (CSRF)', ...SEED_COLUMNS.map((id) => forged(row(id).revocation?.forgedLogout))],
    ],
    ['---', ...SEED_COLUMNS.map(() => '---')],
  );

  const all = table(
    [
      'contender',
      'req/s',
      'rounds ranged',
      'vs ceiling',
      'p50 ms',
      'p99 ms',
      'server CPU µs/req',
      'store cmds/req',
      'credential bytes',
      'logout refused here',
      'at another instance',
      'failed',
    ],
    rows
      .filter((r) => !r.delayed)
      .map((r) => [
        r.tessera ? `**${r.name}**` : r.name,
        int(r.rps),
        `${int(Math.min(...r.rpsRounds))}–${int(Math.max(...r.rpsRounds))}`,
        `${Math.round((r.rps / ceiling.rps) * 100)}%`,
        ms(r.p50),
        ms(r.p99),
        int(r.cpuMicrosPerRequest),
        storeWork(r),
        r.credentialBytes,
        revoked(r.revocation?.here),
        revoked(r.revocation?.elsewhere),
        r.failed,
      ]),
  );

  const delayed = table(
    [
      'contender',
      'req/s loopback',
      `req/s ${delay}`,
      'change',
      'p50 ms loopback',
      `p50 ms ${delay}`,
      `p99 ms ${delay}`,
      'store cmds/req',
      `logout refused at another instance, ${delay}`,
    ],
    rows
      .filter((r) => r.delayed)
      .map((r) => {
        const near = row(r.id.replace(/\+delay$/, ''));
        return [
          r.tessera ? `**${r.name}**` : r.name,
          int(near.rps),
          int(r.rps),
          `${Math.round((r.rps / near.rps - 1) * 100)}%`,
          ms(near.p50),
          ms(r.p50),
          ms(r.p99),
          storeWork(r),
          revoked(r.revocation?.elsewhere),
        ];
      }),
  );

  const peers = PEERS.map((id) => row(id));
  const ratios = table(
    ['Tessera (req/s ratio)', 'vs ceiling', ...peers.map((p) => `vs ${p.name}`)],
    rows
      .filter((r) => r.tessera)
      .map((r) => [
        r.delayed ? `${r.name}, ${delay}` : r.name,
        `${(r.rps / ceiling.rps).toFixed(2)}x`,
        ...peers.map((p) => `${(r.rps / twin(p.id, r.delayed).rps).toFixed(2)}x`),
      ]),
  );

  return [
    header,
    '',
    "**The seed's comparison, measured**",
    '',
    seed,
    '',
    '**Every contender** (stores on loopback; Tessera in bold)',
    '',
    all,
    '',
    `**The same contenders with a store trip that costs what a network does** (${delay} each way)`,
    '',
    delayed,
    '',
    '**Tessera against each peer** (a delayed row is compared with the delayed copy of a peer that uses Redis)',
    '',
    ratios,
    '',
    '**Targets**',
    '',
    ...targets(result, row, twin),
  ].join('\n');
}

function targets(result: LabResult, row: (id: string) => LabRow, twin: (id: string, delayed: boolean) => LabRow): string[] {
  const ceiling = row('no-auth');
  const verdict = (met: boolean) => (met ? 'met' : '**not met**');
  const ratio = (a: LabRow, b: LabRow) => a.rps / b.rps;
  const both = (id: string, peer: string, bar: number, strict = false) =>
    [false, true].map((delayed) => {
      const r = ratio(twin(id, delayed), twin(peer, delayed));
      return `${r.toFixed(2)}x ${delayed ? `with the store +${result.settings.delayMs} ms` : 'on loopback'} (${verdict(strict ? r > bar : r >= bar)})`;
    });
  const withinCeiling = result.rows
    .filter((r) => r.tessera && !r.delayed)
    .map((r) => `${r.name} ${Math.round(ratio(r, ceiling) * 100)}% (${verdict(ratio(r, ceiling) >= 0.85)})`);
  const fast = ['tessera-stateless-redis', 'tessera-stateless'].map(
    (id) => `${row(id).name} ${ratio(row(id), row('fast-jwt')).toFixed(2)}x (${verdict(ratio(row(id), row('fast-jwt')) >= 1)})`,
  );
  return [
    `- Every Tessera strategy within 15% of the no-auth ceiling: ${withinCeiling.join('; ')}.`,
    `- Tessera stateful on Redis at least 1.5x express-session + connect-redis: ${both('tessera-stateful-redis', 'express-session-redis', 1.5).join('; ')}.`,
    `- Tessera stateless with revocation at least as fast as express + fast-jwt with its cache (which revokes nothing): ${fast.join('; ')}.`,
    `- Stateless + revocation at least 4x the seeds' design (jsonwebtoken, string secret, Redis blacklist): ${both('tessera-stateless-redis', 'blacklist-string', 4).join('; ')}.`,
    `- … and faster than the same design with a KeyObject: ${both('tessera-stateless-redis', 'blacklist-keyobject', 1, true).join('; ')}.`,
    `- Tessera stateful on PostgreSQL at least 1.5x express-session + connect-pg-simple: ${both('tessera-stateful-postgres', 'express-session-postgres', 1.5).join('; ')}.`,
    ...['redis', 'postgres'].map((store) => cachedDelayTarget(row, store)),
  ];
}

/**
 * Cached stateful sessions with the store 1 ms away: the change in throughput no larger than the
 * token strategies' rows on that store show, and less than a third of the peer's drop.
 */
function cachedDelayTarget(row: (id: string) => LabRow, store: string): string {
  const change = (id: string) => row(`${id}+delay`).rps / row(id).rps - 1;
  const percent = (value: number) => `${value >= 0 ? '+' : ''}${Math.round(value * 100)}%`;
  const suffix = store === 'redis' ? '' : '-postgres';
  const cached = change(`tessera-stateful-${store}-cached`);
  const tokens = [store === 'redis' ? 'tessera-stateless-redis' : 'tessera-stateless-postgres', `tessera-hybrid${suffix}`].map(change);
  const peer = change(store === 'redis' ? 'express-session-redis' : 'express-session-postgres');
  const met = cached >= Math.min(...tokens) && (peer >= 0 || Math.abs(Math.min(cached, 0)) < Math.abs(peer) / 3);
  return `- Cached stateful on ${store === 'redis' ? 'Redis' : 'PostgreSQL'}, store 1 ms away: ${percent(cached)} (token rows ${tokens.map(percent).join(', ')}; express-session ${percent(peer)}) (${met ? 'met' : '**not met**'}).`;
}

/** What a credential carried this way is exposed to. */
function exposure(transport: string): string {
  if (transport === 'bearer') return 'bearer header: script holds the token, XSS can steal it; no CSRF';
  if (transport === 'none') return '–';
  const httpOnly = transport.includes('HttpOnly') ? 'HttpOnly cookie: XSS cannot read it' : 'script-readable cookie: XSS can steal it';
  const sameSite = /SameSite=(\w+)/.exec(transport)?.[1];
  return `${httpOnly}, ${sameSite ? `SameSite=${sameSite}` : 'no SameSite'}; CSRF needs a check`;
}

function forged(outcome: RevocationTiming['forgedLogout'] | undefined): string {
  if (outcome === 'refused') return 'refused';
  if (outcome === 'accepted') return '**accepted: the user was logged out**';
  return 'not applicable';
}

/** Redis commands or PostgreSQL statements per request, or a dash for a row without a store server. */
function storeWork(r: LabRow): string {
  const work = r.redisPerRequest ?? r.postgresPerRequest;
  return work === null ? '–' : work.toFixed(2);
}

function missing(id: string): never {
  throw new Error(`the lab has no result for ${id}`);
}
