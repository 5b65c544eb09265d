/**
 * The self-service page: one HTML document, no build step, no framework. It talks to the same
 * JSON routes as any client, through the browser client (tessera/client): cookies are HttpOnly, and
 * an access token, if the strategy has one, lives only in the page's memory.
 */
export const SELF_SERVICE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tessera — your account</title>
<style>
  :root { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2330; background: #f2f4f8; line-height: 1.45; }
  body { margin: 0; }
  header { background: #141a2b; color: #fff; }
  header div { max-width: 52rem; margin: 0 auto; padding: .9rem 1rem; display: flex; align-items: baseline; gap: .75rem; }
  header strong { font-size: 1.15rem; letter-spacing: .02em; }
  header span { color: #aab3c8; font-size: .9rem; }
  main { max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; }
  h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
  section { background: #fff; border-radius: .75rem; padding: 1.25rem 1.5rem; margin: 1rem 0; box-shadow: 0 1px 3px #0002; }
  #signed-out { max-width: 24rem; margin: 2rem auto; }
  .muted { color: #5d667a; font-size: .92rem; margin: 0 0 .75rem; }
  label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
  input { width: 100%; box-sizing: border-box; padding: .55rem .6rem; border: 1px solid #b7bfd0; border-radius: .45rem; font: inherit; }
  input:focus { outline: 2px solid #2f5bea55; border-color: #2f5bea; }
  button { margin-top: 1rem; padding: .5rem 1rem; border: 0; border-radius: .45rem; background: #2f5bea; color: #fff; font: inherit; font-weight: 500; cursor: pointer; }
  button:hover { filter: brightness(1.08); }
  button.secondary { background: #e4e8f2; color: #1d2330; }
  button.danger { background: #c62f3e; }
  td button { margin: 0; padding: .3rem .75rem; font-size: .9rem; }
  .facts { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
  .facts dt { color: #5d667a; }
  .facts dd { margin: 0; font-weight: 500; }
  table { width: 100%; border-collapse: collapse; font-size: .95rem; }
  th { color: #5d667a; font-weight: 600; font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; }
  th, td { text-align: left; padding: .55rem .4rem; border-bottom: 1px solid #e8ebf2; vertical-align: middle; }
  td:last-child { text-align: right; white-space: nowrap; }
  .badge { background: #dff5e3; color: #17622a; border-radius: 1rem; padding: .15rem .65rem; font-size: .85rem; white-space: nowrap; }
  [role=status] { min-height: 1.5rem; margin: 0; color: #8a1c27; }
  [hidden] { display: none; }
</style>
</head>
<body>
<header><div><strong>Tessera</strong><span>your account</span></div></header>
<main>
  <p role="status" id="message" aria-live="polite"></p>

  <section id="signed-out">
    <h2>Log in or register</h2>
    <form id="credentials">
      <label for="username">Username</label>
      <input id="username" name="username" autocomplete="username" required>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required>
      <button type="submit" name="action" value="login">Log in</button>
      <button type="submit" name="action" value="register" class="secondary">Register</button>
    </form>
  </section>

  <div id="signed-in" hidden>
    <section>
      <h1>Signed in as <span id="who"></span></h1>
      <dl class="facts">
        <dt>Roles</dt><dd id="roles"></dd>
        <dt>Strategy</dt><dd id="strategy"></dd>
        <dt>Session ends</dt><dd><span id="expires"></span> <span class="muted">(later if you keep using it)</span></dd>
      </dl>
      <button id="logout" class="secondary">Log out</button>
      <button id="logout-all" class="danger">Log out everywhere</button>
    </section>
    <section>
      <h2>Your devices</h2>
      <p class="muted">Every browser or app signed in to your account. Revoke one you do not recognise: it is signed out at once.</p>
      <table>
        <thead><tr><th scope="col">Device</th><th scope="col">IP</th><th scope="col">Signed in</th><th scope="col">Last seen</th><th scope="col"></th></tr></thead>
        <tbody id="devices"></tbody>
      </table>
      <button id="refresh" class="secondary">Refresh</button>
    </section>
    <section>
      <h2>Change password</h2>
      <form id="password-form">
        <label for="current-password">Current password</label>
        <input id="current-password" type="password" autocomplete="current-password" required>
        <label for="new-password">New password</label>
        <input id="new-password" type="password" autocomplete="new-password" minlength="8" required>
        <button type="submit">Change password</button>
      </form>
    </section>
  </div>
</main>
<script type="module">
import { createTesseraClient } from '/tessera-client.js';

const client = createTesseraClient();
const $ = (id) => document.getElementById(id);
const say = (text) => { $('message').textContent = text; };
const when = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function describeAgent(agent) {
  if (!agent) return 'Unknown device';
  const browser = /Edg\\//.test(agent) ? 'Edge' : /Chrom/.test(agent) ? 'Chrome' : /Firefox\\//.test(agent) ? 'Firefox' : /Safari\\//.test(agent) ? 'Safari' : /curl|node|undici/i.test(agent) ? 'Command-line client' : 'Browser';
  const system = /Android/.test(agent) ? 'Android' : /iPhone|iPad/.test(agent) ? 'iOS' : /Windows/.test(agent) ? 'Windows' : /Mac OS/.test(agent) ? 'macOS' : /Linux/.test(agent) ? 'Linux' : '';
  return system ? browser + ' on ' + system : browser;
}

async function api(method, path, body) {
  const response = await client.fetch(path, { method, body: body ? JSON.stringify(body) : undefined });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data };
}

async function render() {
  const me = client.user ? await api('GET', '/auth/me') : { ok: false };
  $('signed-out').hidden = me.ok;
  $('signed-in').hidden = !me.ok;
  if (!me.ok) return;
  $('who').textContent = me.data.user.username;
  $('roles').textContent = me.data.user.roles.join(', ');
  $('strategy').textContent = me.data.auth.strategy;
  $('expires').textContent = when(me.data.auth.expires_at);
  const list = await api('GET', '/auth/sessions');
  const rows = $('devices');
  rows.replaceChildren();
  for (const s of list.ok ? list.data.sessions : []) {
    const row = rows.insertRow();
    row.insertCell().textContent = describeAgent(s.user_agent);
    row.insertCell().textContent = s.ip;
    row.insertCell().textContent = when(s.created_at);
    row.insertCell().textContent = when(s.last_seen_at);
    const action = row.insertCell();
    if (s.current) {
      action.innerHTML = '<span class="badge">This device</span>';
    } else {
      const button = document.createElement('button');
      button.className = 'danger';
      button.textContent = 'Revoke';
      button.setAttribute('aria-label', 'Revoke ' + describeAgent(s.user_agent) + ', signed in ' + when(s.created_at));
      button.onclick = () => act(() => api('DELETE', '/auth/sessions/' + encodeURIComponent(s.id)), 'Device signed out.');
      action.append(button);
    }
  }
}

async function act(call, success) {
  const result = await call();
  say(result.ok ? success : (result.data && result.data.detail) || 'Something went wrong.');
  // The client drops the user when the credential itself is dead (revoked from another device).
  if (result.status === 401 && !client.user) say('Your session has ended. Please log in again.');
  await render();
  return result;
}

$('credentials').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = { username: $('username').value, password: $('password').value };
  if (event.submitter && event.submitter.value === 'register') {
    const created = await api('POST', '/auth/register', body);
    if (!created.ok) return say(created.data ? created.data.detail : 'Registration failed.');
  }
  try {
    await client.login(body.username, body.password);
    $('password').value = '';
    say('Welcome.');
  } catch (error) {
    say(error.message);
  }
});
$('logout').onclick = async () => {
  await client.logout();
  say('You are logged out.');
};
$('refresh').onclick = () => act(() => api('GET', '/auth/me'), '');
$('logout-all').onclick = () => act(() => api('POST', '/auth/logout-all'), 'You are logged out on every device.');
$('password-form').addEventListener('submit', (event) => {
  event.preventDefault();
  act(() => api('POST', '/auth/password', { current_password: $('current-password').value, new_password: $('new-password').value }),
    'Password changed. Your other devices are signed out.').then(() => event.target.reset());
});
// Every sign-in or sign-out redraws the page: this tab's, another tab's, or the session found at load.
client.subscribe(() => void render());
client.restore();
</script>
</body>
</html>
`;
