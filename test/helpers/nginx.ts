import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from '../../tools/redis-process.js';

/** Debian installs nginx in /usr/sbin, which is not on every user's PATH. */
const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const installed = spawnSync(NGINX, ['-v']).status === 0;

/** Like `requireRedis`: under CI a missing nginx fails the test; elsewhere it is skipped. */
export function requireNginx(t: TestContext): boolean {
  if (installed) return true;
  if (process.env.CI) throw new Error('nginx is not installed, and CI requires the scale-out tests to run.');
  t.skip('nginx is not installed');
  return false;
}

export const hasNginx = (): boolean => installed;

export interface Balancer {
  readonly url: string;
  /** Everything nginx wrote to its error log (upstream failures and retries show up here). */
  errors(): string;
  stop(): Promise<void>;
}

/**
 * A real nginx on loopback in front of `upstreams` (ports): round robin, no stickiness, and
 * what production balancers do on a failure: a request whose upstream refuses the connection or
 * breaks before answering goes to the next one (nginx never resends a POST it already sent).
 * Each answer names the instance that gave it in `X-Upstream`.
 */
export async function startNginx(upstreams: readonly number[]): Promise<Balancer> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-nginx-'));
  for (const temp of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, temp));
  const port = await freePort();
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream tessera {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=1s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://tessera;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 1s;
      proxy_read_timeout 10s;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${readErrors(dir)}`);
    const up = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${readErrors(dir)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    errors: () => readErrors(dir),
    async stop() {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGQUIT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readErrors(dir: string): string {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8');
  } catch {
    return '';
  }
}
