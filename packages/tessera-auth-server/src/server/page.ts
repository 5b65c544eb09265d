/**
 * The self-service page: an HTML document, its style sheet and its script; no build step, no
 * framework. Nothing inline, so its Content-Security-Policy allows only this server's own files.
 * It talks to the same JSON routes as any client, through the browser client (tessera/client):
 * cookies are HttpOnly, and an access token, if the strategy has one, lives only in page memory.
 */
export const SELF_SERVICE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tessera — your account</title>
<link rel="stylesheet" href="/tessera-page.css">
</head>
<body>
<header><div><strong>Tessera</strong><span>your account</span></div></header>
<main>
  <p role="status" id="message" aria-live="polite"></p>

  <section id="signed-out">
    <h2>Log in or register</h2>
    <p id="authorizing" hidden>Sign in to continue to <strong id="client-name"></strong>.</p>
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
<script type="module" src="/tessera-page.js"></script>
</body>
</html>
`;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);

/** The page as an OAuth client's sign-in: the client's name in a meta element the script reads. */
export const authorizationPage = (clientName: string) =>
  SELF_SERVICE_PAGE.replace('</head>', `<meta name="tessera-client" content="${escapeHtml(clientName)}">\n</head>`);
