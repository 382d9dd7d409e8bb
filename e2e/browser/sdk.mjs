// The official Svix JavaScript SDK (npm's `svix`, bundled for the browser
// with esbuild at test time) run by a page of another origin with a portal
// token, as a SaaS that builds its own webhooks UI does: it works from an
// origin in --portal-allowed-origins, fails (CORS) from one that is not,
// and an admin token is refused even from an allowed origin.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { adminToken, api, base, createApp, expect, magicLink, otherURL, run, shot, test } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const sdkURL = process.env.HOOKRELAY_SDK_URL || '';
const sdkDir = process.env.HOOKRELAY_SDK_DIR || '';
expect(sdkURL && sdkDir && otherURL, 'HOOKRELAY_SDK_URL, HOOKRELAY_SDK_DIR and HOOKRELAY_OTHER_URL are not set');
const require = createRequire(import.meta.url);

// The SDKs, each bundled as a SaaS would ship it: the package as
// window.svixSDK, for browsers. Nothing generated is kept in the
// repository: the bundles go to the page servers' directory, a temporary
// one. svix 1.x reads Node's global `process` without checking that it
// exists (2.x checks with typeof), which throws in a browser; bundlers that
// target browsers give it one (webpack's and Next.js's process polyfills),
// and so does this bundle, defining it as undefined (so the SDK names the
// browser's user agent, as 2.x does).
const sdks = [
  { pkg: 'svix', bundle: 'svix-1', define: { process: 'undefined' } },
  { pkg: 'svix2', bundle: 'svix-2', define: {} },
];
for (const sdk of sdks) {
  sdk.version = JSON.parse(fs.readFileSync(require.resolve(`${sdk.pkg}/package.json`), 'utf8')).version;
  sdk.v2 = Number(sdk.version.split('.')[0]) >= 2;
  await esbuild.build({
    stdin: { contents: `export { Svix } from '${sdk.pkg}';`, resolveDir: here, loader: 'js' },
    bundle: true,
    format: 'iife',
    globalName: 'svixSDK',
    platform: 'browser',
    target: 'chrome120',
    define: sdk.define,
    outfile: path.join(sdkDir, `${sdk.bundle}.js`),
    logLevel: 'warning',
  });
}

// openSDKPage opens the page of origin that loads sdk's bundle.
async function openSDKPage(page, origin, sdk) {
  const res = await page.goto(`${origin}/sdk?bundle=${sdk.bundle}`);
  expect(res.ok(), `${origin}/sdk answered ${res.status()}`);
  expect(await page.evaluate(() => typeof window.svixSDK?.Svix === 'function'), 'the SDK bundle did not load');
}

// inPage runs fn(svix, arg) in the page with a client of token; it returns
// fn's result, or { error: { code, body, message } } for what it threw.
function inPage(page, token, fn, arg) {
  return page.evaluate(async ([token, serverUrl, src, arg]) => {
    const svix = new window.svixSDK.Svix(token, { serverUrl });
    // eslint-disable-next-line no-new-func
    const f = new Function('return ' + src)();
    try {
      return await f(svix, arg);
    } catch (e) {
      return { error: { code: e.code ?? null, body: e.body ?? null, message: String(e && e.message) } };
    }
  }, [token, base, fn.toString(), arg]);
}

for (const sdk of sdks) {
  test(`svix ${sdk.version} in the browser with a portal token, from an allowed origin`, async (page) => {
    const app = await createApp('sdk');
    const type = `sdk.ping${Date.now().toString(36)}`;
    await api('POST', '/api/v1/event-type', { name: type, description: 'a ping from the SDK test' });
    await api('POST', `/api/v1/app/${app.id}/msg`, { eventType: type, payload: { n: 1 } });
    const { token } = await magicLink(app.id, {});

    const sent = [];
    page.on('request', (r) => { if (r.url().startsWith(base)) sent.push({ method: r.method(), headers: r.headers() }); });
    await openSDKPage(page, sdkURL, sdk);
    const out = await inPage(page, token, async (svix, { appId, type, v2 }) => {
      // 2.x names an endpoint's event types eventTypes (1.x filterTypes),
      // and its headers' PUT setHeaders (1.x updateHeaders).
      const types = v2 ? 'eventTypes' : 'filterTypes';
      const r = {};
      r.before = (await svix.endpoint.list(appId)).data.length;
      const ep = await svix.endpoint.create(appId, {
        url: 'https://example.com/hooks/from-the-browser', description: 'made in the browser', [types]: [type],
      });
      r.created = { id: ep.id, url: ep.url, description: ep.description, types: ep[types] };
      r.listed = (await svix.endpoint.list(appId)).data.map((e) => e.id);
      r.got = (await svix.endpoint.get(appId, ep.id)).description;
      r.patched = (await svix.endpoint.patch(appId, ep.id, { description: 'changed in the browser' })).description;
      r.secret = (await svix.endpoint.getSecret(appId, ep.id)).key.startsWith('whsec_');
      await svix.endpoint[v2 ? 'setHeaders' : 'updateHeaders'](appId, ep.id, { headers: { 'X-Webhook-Token': 'from-the-browser' } });
      r.headers = JSON.stringify(await svix.endpoint.getHeaders(appId, ep.id));
      const msgs = await svix.message.list(appId);
      r.messages = msgs.data.map((m) => m.eventType);
      r.attempts = (await svix.messageAttempt.listByMsg(appId, msgs.data[0].id)).data.length;
      r.types = (await svix.eventType.list({ limit: 250 })).data.map((t) => t.name).includes(type);
      r.app = (await svix.application.get(appId)).id;
      await svix.endpoint.delete(appId, ep.id);
      r.after = (await svix.endpoint.list(appId)).data.length;
      return r;
    }, { appId: app.id, type, v2: sdk.v2 });
    expect(!out.error, `the SDK failed: ${JSON.stringify(out.error)}`);
    expect(out.before === 0 && out.after === 0, `endpoints before ${out.before}, after ${out.after}`);
    expect(out.created.url === 'https://example.com/hooks/from-the-browser' && out.created.description === 'made in the browser',
      `created ${JSON.stringify(out.created)}`);
    expect(JSON.stringify(out.created.types) === JSON.stringify([type]), `created with event types ${JSON.stringify(out.created.types)}`);
    expect(out.listed.length === 1 && out.listed[0] === out.created.id, `listed ${out.listed}`);
    expect(out.got === 'made in the browser' && out.patched === 'changed in the browser', `got ${out.got}, patched ${out.patched}`);
    expect(out.secret, 'the signing secret is not a whsec_ key');
    expect(/x-webhook-token/i.test(out.headers), `headers ${out.headers}`);
    expect(out.messages.length === 1 && out.messages[0] === type, `messages ${out.messages}`);
    expect(out.types && out.app === app.id, `event types ${out.types}, app ${out.app}`);
    // What the SDK sent, as the server saw it asked for.
    const post = sent.find((r) => r.method === 'POST');
    expect(post && post['headers']['idempotency-key'] && post['headers']['svix-req-id'],
      `the SDK's POST lacks idempotency-key or svix-req-id: ${JSON.stringify(post)}`);
    console.log(`     ${sdk.pkg} ${sdk.version} sent User-Agent: ${post.headers['user-agent']}`);
    await shot(page, `${sdk.bundle}-allowed`);
  }, { only: 1280 });

  test(`svix ${sdk.version} in the browser from an origin not allowed fails (CORS) and changes nothing`, async (page) => {
    const app = await createApp('sdk-other');
    const { token } = await magicLink(app.id, {});
    await openSDKPage(page, otherURL, sdk);
    const out = await inPage(page, token, async (svix, appId) => {
      const r = {};
      for (const [name, call] of [
        ['list', () => svix.endpoint.list(appId)],
        ['create', () => svix.endpoint.create(appId, { url: 'https://example.com/hooks/from-elsewhere' })],
      ]) {
        try {
          await call();
          r[name] = 'served';
        } catch (e) {
          // A CORS refusal is fetch's TypeError: no status reaches the page.
          r[name] = e instanceof TypeError && /failed to fetch/i.test(e.message) ? 'blocked' : `${e.code ?? ''} ${e}`;
        }
      }
      return r;
    }, app.id);
    expect(out.list === 'blocked' && out.create === 'blocked', `from an origin not allowed: ${JSON.stringify(out)}`);
    const eps = await api('GET', `/api/v1/app/${app.id}/endpoint`);
    expect(eps.data.length === 0, `an origin not allowed created ${eps.data.length} endpoint(s)`);
  }, { only: 1280 });

  test(`svix ${sdk.version} in the browser with an admin token is refused, even from an allowed origin`, async (page) => {
    const app = await createApp('sdk-admin');
    await openSDKPage(page, sdkURL, sdk);
    const out = await inPage(page, adminToken, async (svix, appId) => {
      const r = {};
      for (const [name, call] of [
        ['list apps', () => svix.application.list()],
        ['portal access', () => svix.authentication.appPortalAccess(appId, {})],
        ['create endpoint', () => svix.endpoint.create(appId, { url: 'https://example.com/hooks/admin' })],
      ]) {
        try {
          await call();
          r[name] = 'served';
        } catch (e) {
          r[name] = e.code ?? 'blocked';
        }
      }
      return r;
    }, app.id);
    for (const [name, got] of Object.entries(out)) {
      expect(got === 403, `${name} with the admin token from a browser: ${got}`);
    }
    const eps = await api('GET', `/api/v1/app/${app.id}/endpoint`);
    expect(eps.data.length === 0, `the admin token created ${eps.data.length} endpoint(s) from a browser`);
  }, { only: 1280 });
}

await run();
