import { spawn, spawnSync } from 'node:child_process';
import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  failed: number;
}

export const hasWrk = spawnSync('wrk', ['--version']).error === undefined;

/**
 * Loads `url` for `seconds`. wrk (C, from Debian's packages) is preferred: on a 2-core machine a
 * JavaScript load generator cannot saturate a Node server, which compresses every ratio.
 */
export async function load(url: string, headers: Record<string, string>, seconds: number, connections: number): Promise<LoadResult> {
  if (!hasWrk) {
    const result = await autocannon({ url, connections, duration: seconds, headers });
    return {
      requests: result.requests.total,
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      failed: result.non2xx + result.errors + result.timeouts,
    };
  }
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', 'bench/wrk-report.lua'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  // wrk now and then exits at once with no output at all (seen a few times in hundreds of runs on
  // this machine): a failed measurement, not a result, so it is run again, twice at most.
  for (let attempt = 1; ; attempt++) {
    const child = spawn('wrk', [...args, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code, signal] = (await new Promise((resolve) => child.once('exit', (...exit) => resolve(exit)))) as [
      number | null,
      string | null,
    ];
    const line = output.split('\n').find((l) => l.startsWith('{'));
    if (line) {
      const summary = JSON.parse(line) as { requests: number; seconds: number; p50: number; p99: number; failed: number };
      return { ...summary, rps: summary.requests / summary.seconds };
    }
    if (attempt === 3) throw new Error(`wrk printed no summary (exit ${code ?? signal}):\n${output}`);
  }
}
