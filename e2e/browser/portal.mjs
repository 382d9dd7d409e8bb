// The portal's access and security in a real browser: the magic link, its
// replay, read-only sessions, framing, cross-origin API calls, the 375 px
// layout and isolation between applications.
import {
  api, base, check, createApp, expect, magicLink, openMagicLink, otherURL, parentURL, run, test, visit, waitFor,
} from './lib.mjs';

const navPages = [
  ['/portal/endpoints', 'endpoints'],
  ['/portal/activity', 'activity'],
  ['/portal/catalog', 'catalog'],
  ['/portal/health', 'health'],
];

test('magic link opens the portal', async (page) => {
  const app = await createApp('portal');
  await openMagicLink(page, app.id);
  expect(!page.url().includes('session='), `the session stayed in the address bar: ${page.url()}`);
  await check(page, 'portal-endpoints');
  for (const [p, name] of navPages) {
    await page.click(`[data-testid="nav-${name}"]`);
    await page.waitForURL(new RegExp(p + '$'));
    await check(page, 'portal-' + name);
  }
});

test('fetching a magic link (a link preview) leaves it working; its page works without JavaScript, once', async (page) => {
  const app = await createApp('prefetch');
  const link = await magicLink(app.id, {});
  // What a mail or chat link preview, or a security scanner, does.
  for (let i = 0; i < 3; i++) {
    const r = await fetch(link.url, { headers: { 'user-agent': 'Slackbot-LinkExpanding 1.0' } });
    expect(r.status === 200, `prefetch ${i} answered ${r.status}`);
    await r.text();
  }
  // The page as a browser without its script shows it (checked here
  // with login.js refused: Playwright cannot evaluate axe where
  // JavaScript is off).
  await page.route('**/portal/static/login.js*', (route) => route.abort());
  const res = await page.goto(link.url);
  expect(res.status() === 200, `link page answered ${res.status()}`);
  await page.waitForSelector('[data-testid="link-submit"]');
  await check(page, 'portal-link-continue');
  await page.unroute('**/portal/static/login.js*');
  // Two tabs without JavaScript show the link's page; the first to
  // continue opens the portal, the second is refused.
  const context = await page.context().browser().newContext({ javaScriptEnabled: false, viewport: page.viewportSize() });
  try {
    const [first, second] = [await context.newPage(), await context.newPage()];
    for (const p of [first, second]) {
      p.setDefaultTimeout(15000);
      const res = await p.goto(link.url);
      expect(res.status() === 200, `link page answered ${res.status()}`);
      await p.waitForSelector('[data-testid="link-submit"]');
    }
    await Promise.all([first.waitForURL(/\/portal\/endpoints$/), first.click('[data-testid="link-submit"]')]);
    await first.waitForSelector('[data-testid="nav-endpoints"]');
    const [res] = await Promise.all([second.waitForNavigation(), second.click('[data-testid="link-submit"]')]);
    expect(res.status() === 410, `second post answered ${res.status()}`);
    const text = await second.textContent('[data-testid="message"]');
    expect(/already been used/.test(text), `second post's page says: ${text}`);
  } finally {
    await context.close();
  }
});

test('a replayed magic link is refused', async (page) => {
  const app = await createApp('replay');
  const link = await openMagicLink(page, app.id);
  const res = await page.goto(link.url);
  expect(res.status() === 410, `replay answered ${res.status()}`);
  const text = await page.textContent('[data-testid="message"]');
  expect(/already been used/.test(text), `replay page says: ${text}`);
  await check(page, 'portal-link-used');
});

test('a read-only session sees no change buttons and the server refuses a forged change', async (page) => {
  const app = await createApp('readonly');
  const link = await openMagicLink(page, app.id, { readOnly: true });
  await page.waitForSelector('[data-testid="read-only"]');
  for (const [p, name] of navPages) {
    await visit(page, p, 'portal-readonly-' + name);
    // The only form a read-only page may hold is signing out.
    const forms = await page.$$eval('form[method="post"]', (fs) => fs.map((f) => f.getAttribute('action')));
    expect(forms.every((a) => a.startsWith('/portal/logout')), `${p}: change forms on a read-only page: ${forms}`);
  }
  // A forged form post without the CSRF token, and the session's own
  // token used as a bearer, are both refused.
  const forged = await page.evaluate(async () => {
    const r = await fetch('/portal/logout', { method: 'POST', body: new URLSearchParams({ csrf: 'forged' }) });
    return r.status;
  });
  expect(forged === 403, `forged post answered ${forged}`);
  const status = await fetch(`${base}/api/v1/app/${app.id}/endpoint`, {
    method: 'POST', headers: { authorization: `Bearer ${link.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'https://example.com/hook' }),
  }).then((r) => r.status);
  expect(status === 403, `read-only token created an endpoint: ${status}`);
});

test('framing: an allowed origin may frame the portal, another may not', async (page) => {
  expect(parentURL && otherURL, 'HOOKRELAY_PARENT_URL and HOOKRELAY_OTHER_URL are not set');
  const app = await createApp('frame');
  const link = await magicLink(app.id, {});
  // svix-react appends its parameters to the URL it frames.
  const src = new URL(link.url);
  src.searchParams.append('darkMode', 'true');
  src.searchParams.append('primaryColor', '#AA3300');
  await page.goto(`${parentURL}/frame?src=${encodeURIComponent(src.href)}`);
  const frame = await waitFor(() => page.frames().find((f) => f.url().startsWith(base)), 'the portal frame');
  // The link's page posts its code from inside the frame; the portal,
  // with svix-react's look, follows.
  await frame.waitForSelector('[data-testid="nav-endpoints"]');
  expect(await frame.getAttribute('html', 'data-theme') === 'dark', 'darkMode=true did not make the portal dark');
  const accent = await frame.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim());
  expect(accent === '#aa3300', `primaryColor=#AA3300 gave the accent ${accent}`);
  // svix-react's <AppPortal fullSize> sizes the iframe from this message.
  const height = await waitFor(() => page.evaluate(() => window.heights.at(-1)), 'a height message');
  expect(height > 100, `posted height ${height}`);
  // Navigation inside the frame keeps the session, cookie or not.
  await frame.click('[data-testid="nav-activity"]');
  await frame.waitForSelector('[data-testid="nav-activity"][aria-current="page"]');
  await check(page, 'portal-framed');

  const other = await newLinkPage(page, otherURL, app.id);
  // Chromium replaces a frame refused by frame-ancestors with its error
  // page; wait for that (or for the portal, which would be a failure).
  const state = await waitFor(async () => {
    const f = other.frames().find((f) => f !== other.mainFrame());
    if (!f) return false;
    if (f.url().startsWith('chrome-error:')) return 'blocked';
    const n = await f.$('[data-testid="product-name"]').catch(() => null);
    return n ? 'framed' : false;
  }, 'the frame to be refused or shown');
  expect(state === 'blocked', 'a not-allowed origin framed the portal');
});

async function newLinkPage(page, parent, appId) {
  const link = await magicLink(appId, {});
  const p2 = await page.context().newPage();
  const res = await p2.goto(`${parent}/frame?src=${encodeURIComponent(link.url)}`);
  expect(res.ok(), 'parent page');
  await p2.waitForLoadState('load');
  return p2;
}

test('cross-origin API calls with a portal token: allowed origin yes, other origin no', async (page) => {
  const app = await createApp('cors');
  const { token } = await magicLink(app.id, {});
  const call = (origin) => async () => {
    await page.goto(`${origin}/blank`);
    return page.evaluate(async ([url, token]) => {
      try {
        const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        return r.status;
      } catch (e) {
        return 'blocked';
      }
    }, [`${base}/api/v1/app/${app.id}/endpoint`, token]);
  };
  const allowed = await call(parentURL)();
  expect(allowed === 200, `allowed origin: ${allowed}`);
  const other = await call(otherURL)();
  expect(other === 'blocked', `other origin: ${other}`);
  // The admin token is refused even from the allowed origin.
  await page.goto(`${parentURL}/blank`);
  const admin = await page.evaluate(async ([url, token]) => {
    const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    return r.status;
  }, [`${base}/api/v1/app`, process.env.HOOKRELAY_ADMIN_TOKEN || '']).catch(() => 'blocked');
  expect(admin === 403 || admin === 'blocked', `admin token from a browser: ${admin}`);
});

test('a session of one application cannot reach another', async (page) => {
  const a = await createApp('iso-a');
  const b = await createApp('iso-b');
  await api('POST', `/api/v1/app/${b.id}/endpoint`, { url: 'https://b.example.com/hook', description: 'secret-of-b' });
  const link = await openMagicLink(page, a.id);
  for (const [p] of navPages) {
    await page.goto(base + p);
    const html = await page.content();
    expect(!html.includes('secret-of-b') && !html.includes(b.id), `${p} shows application B`);
  }
  // Nor can its token, from the browser's allowed origin.
  await page.goto(`${parentURL}/blank`);
  const status = await page.evaluate(async ([url, token]) => {
    const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    return r.status;
  }, [`${base}/api/v1/app/${b.id}/endpoint`, link.token]);
  expect(status === 404, `app A's token read app B: ${status}`);
});

test('console sign-in', async (page) => {
  await visit(page, '/console/login', 'console-login');
  await page.fill('[data-testid="login-token"]', 'not-a-token');
  await page.click('[data-testid="login-submit"]');
  await page.waitForSelector('[data-testid="login-error"]');
  await check(page, 'console-login-refused');
  await page.fill('[data-testid="login-token"]', process.env.HOOKRELAY_ADMIN_TOKEN);
  await Promise.all([page.waitForURL(/\/console\/$/), page.click('[data-testid="login-submit"]')]);
  await check(page, 'console-home');
});

await run();
