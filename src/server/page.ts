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
  :root { font-family: system-ui, sans-serif; color: #1d2330; background: #f4f5f8; }
  main { max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.5rem; margin-bottom: .25rem; }
  section { background: #fff; border-radius: .75rem; padding: 1.25rem 1.5rem; margin: 1rem 0; box-shadow: 0 1px 3px #0002; }
  label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
  input { width: 100%; box-sizing: border-box; padding: .5rem; border: 1px solid #9aa3b5; border-radius: .4rem; font: inherit; }
  button { margin-top: 1rem; padding: .5rem 1rem; border: 0; border-radius: .4rem; background: #2f5bea; color: #fff; font: inherit; cursor: pointer; }
  button.secondary { background: #e4e8f2; color: #1d2330; }
  button.danger { background: #c62f3e; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: .4rem; border-bottom: 1px solid #e4e8f2; vertical-align: top; }
  .badge { background: #dff5e3; color: #17622a; border-radius: 1rem; padding: .1rem .6rem; font-size: .85rem; }
  [role=status] { min-height: 1.5rem; color: #8a1c27; }
  [hidden] { display: none; }
</style>
</head>
<body>
<main>
  <h1>Your account</h1>
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
      <h2>Who you are</h2>
      <p>Signed in as <strong id="who"></strong> (roles: <span id="roles"></span>).</p>
      <p>Strategy: <span id="strategy"></span>. This session ends at <span id="expires"></span> unless renewed by use.</p>
      <button id="logout" class="secondary">Log out</button>
      <button id="logout-all" class="danger">Log out everywhere</button>
    </section>
    <section>
      <h2>Your devices</h2>
      <table>
        <thead><tr><th scope="col">Device</th><th scope="col">IP</th><th scope="col">Signed in</th><th scope="col">Last seen</th><th scope="col"></th></tr></thead>
        <tbody id="devices"></tbody>
      </table>
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
const when = (iso) => new Date(iso).toLocaleString();

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
  if (result.status === 401) say('Your session has ended. Please log in again.');
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
