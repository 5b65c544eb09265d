/**
 * A minimal HTTP client with a cookie jar, speaking to a real server on loopback. It sends no
 * Origin unless told to, like any non-browser client.
 */
export class Client {
  readonly cookies = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    readonly defaults: Record<string, string> = {},
  ) {}

  async request(method: string, path: string, options: { json?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...this.defaults, ...options.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(this.baseUrl + path, {
      method,
      headers,
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      redirect: 'manual',
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=thu, 01 jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await response.text();
    const body = text && /json/.test(response.headers.get('content-type') ?? '') ? (JSON.parse(text) as Record<string, unknown>) : text;
    return { status: response.status, headers: response.headers, body: body as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  get = (path: string, headers?: Record<string, string>) => this.request('GET', path, { ...(headers && { headers }) });
  post = (path: string, json?: unknown, headers?: Record<string, string>) =>
    this.request('POST', path, { ...(json !== undefined && { json }), ...(headers && { headers }) });
  put = (path: string, json: unknown) => this.request('PUT', path, { json });
  delete = (path: string) => this.request('DELETE', path);
}
