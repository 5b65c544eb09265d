// Shared by every contender: the same routes, the same port handling, a clean exit on signals.
export const USER = { id: 'bench-user', name: 'bench', roles: ['user'] };

/** Listens on $PORT and prints "ready" for the benchmark. */
export function listen(app) {
  const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
  server.keepAliveTimeout = 60_000;
}

// Exit cleanly on a signal, so profilers (--cpu-prof) get to write their output.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(0));
