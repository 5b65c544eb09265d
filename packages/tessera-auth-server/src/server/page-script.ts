/**
 * The self-service page's script, served as /tessera-page.js: it renders the account and its
 * devices with the browser client, writing text only (`textContent`), never markup from the API.
 */
export const PAGE_SCRIPT = `\
import { createTesseraClient } from '/tessera-client.js';

const client = createTesseraClient();
const $ = (id) => document.getElementById(id);
const say = (text, kind) => {
  $('message').textContent = text;
  $('message').className = kind === 'success' ? 'success' : '';
};
// The server's "signed in" hint (no secret): which cookie to restore the session by, if any.
const hint = document.cookie.split('; ').find((pair) => pair.startsWith('tessera-signed-in='))?.slice('tessera-signed-in='.length);
const forgetHint = () => {
  document.cookie = 'tessera-signed-in=; Max-Age=0; Path=/; SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '');
};
const when = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

// An OAuth client's session shows the client's name, as registered.
const describeSession = (s) => (s.client_id ? s.user_agent + ' (app)' : describeAgent(s.user_agent));

function describeAgent(agent) {
  if (!agent) return 'Unknown device';
  const browser = /Edg\\//.test(agent) ? 'Edge' : /Chrom/.test(agent) ? 'Chrome' : /Firefox\\//.test(agent) ? 'Firefox' : /Safari\\//.test(agent) ? 'Safari' : /curl|node|undici/i.test(agent) ? 'Command-line client' : 'Browser';
  const system = /Android/.test(agent) ? 'Android' : /iPhone|iPad/.test(agent) ? 'iOS' : /Windows/.test(agent) ? 'Windows' : /Mac OS/.test(agent) ? 'macOS' : /Linux/.test(agent) ? 'Linux' : '';
  return system ? browser + ' on ' + system : browser;
}

// Signed-in calls go through the client (token attached, renewed when due); anonymous ones do not,
// so registering never sets off a token renewal.
async function api(method, path, body, anonymous) {
  const init = { method, body: body ? JSON.stringify(body) : undefined };
  const response = anonymous ? await fetch(path, { ...init, headers: { 'content-type': 'application/json' } }) : await client.fetch(path, init);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data };
}

// An OAuth client's sign-in (/oauth/authorize): once signed in, the page asks the server for the
// way back to the client and goes there. prompt=login (or a sign-in too old for max_age) asks for
// the password even when a session exists.
const authorizing = location.pathname === '/oauth/authorize';
const request = new URLSearchParams(location.search);
let needsSignIn = authorizing && /(^| )(login|select_account)( |$)/.test(request.get('prompt') || '');
if (authorizing) {
  $('authorizing').hidden = false;
  $('client-name').textContent = document.querySelector('meta[name="tessera-client"]')?.content || 'an application';
  $('username').value = request.get('login_hint') || '';
}

async function continueAuthorization() {
  const result = await api('POST', '/oauth/authorize', { query: location.search.slice(1) });
  if (result.ok && result.data.redirect_to) return location.assign(result.data.redirect_to);
  needsSignIn = true;
  $('signed-out').hidden = false;
  $('signed-in').hidden = true;
  say((result.data && result.data.error_description) || 'The application could not be signed in.');
}

async function render() {
  if (authorizing && client.user && !needsSignIn) return continueAuthorization();
  if (authorizing && needsSignIn) {
    $('signed-out').hidden = false;
    return;
  }
  const me = client.user ? await api('GET', '/auth/me') : { ok: false };
  $('signed-out').hidden = me.ok;
  $('signed-in').hidden = !me.ok;
  if (!me.ok) return;
  $('who').textContent = me.data.user.username;
  $('roles').textContent = me.data.user.roles.join(', ');
  $('strategy').textContent = me.data.auth.strategy;
  // The session's end: with tokens, the last login or refresh told the client (the token ends sooner).
  $('expires').textContent = when(client.session ? client.session.expiresAt : me.data.auth.expires_at);
  const list = await api('GET', '/auth/sessions');
  const rows = $('devices');
  rows.replaceChildren();
  for (const s of list.ok ? list.data.sessions : []) {
    const row = rows.insertRow();
    row.insertCell().textContent = describeSession(s);
    row.insertCell().textContent = s.ip;
    row.insertCell().textContent = when(s.created_at);
    row.insertCell().textContent = when(s.last_seen_at);
    const action = row.insertCell();
    if (s.current) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = 'This device';
      action.append(badge);
    } else {
      const button = document.createElement('button');
      button.className = 'danger';
      button.textContent = 'Revoke';
      button.setAttribute('aria-label', 'Revoke ' + describeSession(s) + ', signed in ' + when(s.created_at));
      button.onclick = () => act(() => api('DELETE', '/auth/sessions/' + encodeURIComponent(s.id)), 'Device signed out.');
      action.append(button);
    }
  }
}

async function act(call, success) {
  const result = await call();
  if (result.ok) say(success, 'success');
  else say((result.data && result.data.detail) || 'Something went wrong.');
  // The client drops the user when the credential itself is dead (revoked from another device).
  if (result.status === 401 && !client.user) say('Your session has ended. Please log in again.');
  await render();
  return result;
}

$('credentials').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = { username: $('username').value, password: $('password').value };
  if (event.submitter && event.submitter.value === 'register') {
    const created = await api('POST', '/auth/register', body, true);
    if (!created.ok) return say(created.data ? created.data.detail : 'Registration failed.');
  }
  const asked = needsSignIn;
  try {
    needsSignIn = false; // this sign-in is the one asked for
    await client.login(body.username, body.password);
    $('password').value = '';
    say('Welcome.', 'success');
  } catch (error) {
    needsSignIn = asked;
    say(error.message);
  }
});
$('logout').onclick = async () => {
  await client.logout();
  say('You are logged out.', 'success');
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
if (hint === 'refresh' || hint === 'session') {
  client.restore({ via: hint }).then((user) => user || forgetHint());
} else {
  render();
}
`;
