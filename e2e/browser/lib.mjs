// Shared helpers of the portal's browser tests. A spec imports them, calls
// test() for each case and run() at the end; e2e/browser_test.go starts
// the real server and runs every spec with node, passing:
//   HOOKRELAY_URL          the server's base URL
//   HOOKRELAY_ADMIN_TOKEN  its admin token
//   HOOKRELAY_PARENT_URL   a page server on an allowed origin (another site)
//   HOOKRELAY_OTHER_URL    a page server on an origin that is not allowed
// Parent pages: GET /frame?src=URL frames src and records the heights the
// frame posts (window.heights); GET /blank is an empty page to fetch from.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const base = need('HOOKRELAY_URL');
export const adminToken = need('HOOKRELAY_ADMIN_TOKEN');
export const parentURL = process.env.HOOKRELAY_PARENT_URL || '';
export const otherURL = process.env.HOOKRELAY_OTHER_URL || '';
export const screenshots = path.join(here, 'screenshots');

// Viewport widths every spec runs at.
export const widths = [1280, 375];

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests through e2e/browser_test.go`);
  return v;
}

// launch starts Debian's Chromium, headless, with nothing that reaches the
// network on its own.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// newPage opens a page of width px (a phone at 375) in a fresh context.
export async function newPage(browser, width = 1280) {
  const context = await browser.newContext({ viewport: { width, height: width < 600 ? 740 : 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  return page;
}

// api calls the REST API with the admin token (or token) and returns the
// parsed JSON (null for 204); a failure throws with the body.
export async function api(method, p, body, token = adminToken) {
  const res = await fetch(base + p, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// createApp makes an application with a unique uid and returns it.
export async function createApp(prefix = 'app') {
  const uid = `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  return api('POST', '/api/v1/app', { name: uid, uid });
}

// magicLink asks for a portal link to appId: { token, url }.
export async function magicLink(appId, body = {}) {
  return api('POST', `/api/v1/auth/app-portal-access/${appId}`, body);
}

// openMagicLink opens a new portal link for appId in page and waits for the
// portal; it returns the link. The link's page posts its one-time code
// back by itself (static/login.js), so goto returns with that page and the
// portal follows.
export async function openMagicLink(page, appId, body = {}) {
  const link = await magicLink(appId, body);
  const res = await page.goto(link.url, { waitUntil: 'commit' });
  if (!res || res.status() !== 200) throw new Error(`magic link answered ${res && res.status()}`);
  await page.waitForSelector('[data-testid="nav-endpoints"]');
  return link;
}

// consoleLogin signs page in to the operator console with the admin token.
export async function consoleLogin(page, token = adminToken) {
  await page.goto(base + '/console/login');
  await page.fill('[data-testid="login-token"]', token);
  await Promise.all([page.waitForURL(/\/console\/$/), page.click('[data-testid="login-submit"]')]);
}

// shot saves a screenshot of the whole page as screenshots/<name>-<width>.png.
export async function shot(page, name) {
  fs.mkdirSync(screenshots, { recursive: true });
  const w = page.viewportSize().width;
  await page.screenshot({ path: path.join(screenshots, `${name}-${w}.png`), fullPage: true });
}

// checkA11y runs axe-core on the page and throws on any serious or
// critical violation.
export async function checkA11y(page, name) {
  // Evaluated through the DevTools protocol: the page's strict CSP would
  // refuse an inline script tag.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) throw new Error(`${name}: accessibility violations:\n` + JSON.stringify(bad, null, 2));
}

// checkWidth throws when the page scrolls sideways.
export async function checkWidth(page, name) {
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  if (scroll > client) throw new Error(`${name}: page is ${scroll}px wide in a ${client}px viewport (horizontal scroll)`);
}

// visit opens path of this server in page, then screenshots it, runs axe
// and checks for sideways scrolling. It returns the response.
export async function visit(page, p, name) {
  const res = await page.goto(p.startsWith('http') ? p : base + p);
  await check(page, name);
  return res;
}

// check screenshots the current page and runs the page checks.
export async function check(page, name) {
  await shot(page, name);
  await checkA11y(page, name);
  await checkWidth(page, name);
}

// expect throws with message unless cond holds.
export function expect(cond, message) {
  if (!cond) throw new Error(message);
}

// waitFor polls fn until it returns a truthy value or timeout ms pass.
export async function waitFor(fn, what, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cases = [];

// test registers a case: fn(page, width) runs once per width in widths,
// each time in a fresh browser context.
export function test(name, fn, { only } = {}) {
  cases.push({ name, fn, only });
}

// run runs the registered cases in order and exits non-zero on a failure.
export async function run() {
  const browser = await launch();
  let failed = 0;
  try {
    for (const c of cases) {
      for (const width of c.only ? [c.only] : widths) {
        const page = await newPage(browser, width);
        const label = `${c.name} @${width}px`;
        try {
          await c.fn(page, width);
          console.log(`ok   ${label}`);
        } catch (err) {
          failed++;
          console.log(`FAIL ${label}\n${err && err.stack ? err.stack : err}`);
          await shot(page, 'failed-' + c.name.replace(/\W+/g, '-')).catch(() => {});
        } finally {
          await page.context().close();
        }
      }
    }
  } finally {
    await browser.close();
  }
  if (failed) {
    console.log(`${failed} failed`);
    process.exit(1);
  }
}
