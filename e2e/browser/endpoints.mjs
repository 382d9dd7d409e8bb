// The endpoint pages, the signing secret, the event catalog and the
// operator console in a real browser, at 1280 and 375 px: create an
// endpoint with a token header (and see a real delivery carry it), reveal,
// copy and rotate the secret, disable and enable, delete behind a
// confirmation; the console lists a failing endpoint first.
import http from 'node:http';
import {
  api, check, consoleLogin, createApp, expect, openMagicLink, run, test, visit, waitFor,
} from './lib.mjs';

// receiver starts an HTTP receiver on 127.0.0.1 answering status; it
// records every request it gets.
async function receiver(status) {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(status).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/hooks`, got, close: () => server.close() };
}

// eventType creates an event type, or leaves the one of that name.
async function eventType(name, schemas) {
  try {
    await api('POST', '/api/v1/event-type', { name, description: `When ${name.replace('.', ' is ')}.`, schemas });
  } catch (err) {
    if (!/409/.test(err.message)) throw err;
    // Another spec made it first: give it this spec's schema.
    await api('PUT', `/api/v1/event-type/${name}`, { description: `When ${name.replace('.', ' is ')}.`, schemas });
  }
}

const contactSchema = {
  1: {
    type: 'object', required: ['type', 'data'],
    properties: {
      type: { type: 'string', const: 'contact.created' },
      version: { type: 'string', format: 'date', description: 'Envelope version' },
      data: {
        type: 'object', required: ['id'],
        properties: {
          id: { type: 'string', description: 'The contact' },
          email: { type: ['string', 'null'], format: 'email' },
          tags: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    examples: [{ type: 'contact.created', version: '2026-05-25', data: { id: 'c_1', email: 'ada@example.com', tags: ['vip'] } }],
  },
};

test('create an endpoint with a token header, rotate its secret, disable, enable and delete it', async (page, width) => {
  await eventType('contact.created', contactSchema);
  await eventType('contact.updated');
  await eventType('call.completed');
  const rx = await receiver(204);
  try {
    const app = await createApp('endpoints');
    await openMagicLink(page, app.id);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']).catch(() => {});
    await visit(page, '/portal/endpoints', 'endpoints-empty');
    await page.waitForSelector('[data-testid="endpoints-empty"]');

    await page.click('[data-testid="new-endpoint"]');
    await page.waitForURL(/\/portal\/endpoints\/new$/);
    await check(page, 'endpoint-new');
    const rules = await page.textContent('[data-testid="url-rules"]');
    expect(/https:\/\//.test(rules), `URL rules: ${rules}`);

    // A URL the API refuses: its message shows at the field, nothing made.
    await page.fill('[data-testid="url"]', 'https://example.com/a%zz');
    await page.click('[data-testid="save"]');
    await page.waitForSelector('[data-testid="error-url"]');
    await check(page, 'endpoint-new-error');
    expect((await api('GET', `/api/v1/app/${app.id}/endpoint`)).data.length === 0, 'a refused form created an endpoint');

    const token = `tok-${width}-${Math.random().toString(36).slice(2)}`;
    await page.fill('[data-testid="url"]', rx.url);
    await page.fill('[data-testid="description"]', 'CRM sync');
    await page.check('[data-testid="events-some"]');
    await page.check('[data-testid="family-contact"]');
    await page.click('[data-testid="delivery-settings"] summary');
    await page.fill('[data-testid="timeout"]', '10');
    await page.fill('[data-testid="retry"]', '5s, 1m');
    await page.selectOption('[data-testid="header-preset"]', 'token');
    await page.fill('[data-testid="header-value"]', token);
    await page.click('[data-testid="save"]');
    await page.waitForURL(/\/portal\/endpoints\/ep_[^/?]+\?done=created$/);
    const epId = page.url().match(/endpoints\/(ep_[^/?]+)/)[1];
    await page.waitForSelector('[data-testid="header-hidden"]');
    await check(page, 'endpoint-edit');
    expect(!(await page.content()).includes(token), 'the token is shown again after saving');

    const ep = await api('GET', `/api/v1/app/${app.id}/endpoint/${epId}`);
    expect(JSON.stringify(ep.eventTypes) === '["contact.*"]', `eventTypes ${JSON.stringify(ep.eventTypes)}`);
    const hdrs = await api('GET', `/api/v1/app/${app.id}/endpoint/${epId}/headers`);
    expect(hdrs.sensitive.includes('X-WEBHOOK-TOKEN'), `headers ${JSON.stringify(hdrs)}`);

    // A real delivery carries the token header.
    await api('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'contact.created', payload: { type: 'contact.created', data: { id: 'c_1' } } });
    const req = await waitFor(() => rx.got.find((r) => r.headers['x-webhook-token']), 'a delivery with the token header');
    expect(req.headers['x-webhook-token'] === token, `delivered token ${req.headers['x-webhook-token']}`);

    await visit(page, '/portal/endpoints', 'endpoints-list');
    const status = await page.textContent(`[data-endpoint-id="${epId}"] [data-testid="endpoint-status"]`);
    expect(status.trim() === 'Active', `list status ${status}`);

    // Signing secret: reveal, copy, rotate.
    await page.click(`[data-endpoint-id="${epId}"] [data-testid="endpoint-link"]`);
    await page.click('[data-testid="secret-link"]');
    await page.waitForURL(/\/secret$/);
    await check(page, 'secret');
    await page.click('[data-testid="reveal"]');
    const shown = await page.inputValue('[data-testid="secret-value"]');
    const before = (await api('GET', `/api/v1/app/${app.id}/endpoint/${epId}/secret`)).key;
    expect(shown === before, `revealed ${shown}, API has ${before}`);
    await page.click('[data-testid="copy"]');
    const copied = await waitFor(() => page.textContent('[data-copy-status="secret"]'), 'the copy button to answer');
    expect(/Copied|Select/.test(copied), `copy said ${copied}`);
    await check(page, 'secret-revealed');
    await page.click('[data-testid="rotate"]');
    await page.waitForURL(/done=rotated$/);
    await page.waitForSelector('[data-testid="grace"]');
    await check(page, 'secret-rotated');
    const after = (await api('GET', `/api/v1/app/${app.id}/endpoint/${epId}/secret`)).key;
    expect(after !== before, 'the secret did not change');

    // Disable, then enable.
    await page.goto(page.url().replace(/\/secret.*$/, ''));
    await page.click('[data-testid="disable"]');
    await page.waitForURL(/done=disabled$/);
    expect((await page.textContent('[data-testid="endpoint-status"]')).trim() === 'Disabled', 'not shown disabled');
    // The reason stored by the disable: by hand, here, and when.
    const reason = await page.textContent('[data-testid="endpoint-reason"]');
    expect(/Disabled by hand in the portal on \d{4}-\d\d-\d\d \d\d:\d\d UTC/.test(reason), `reason shown: ${reason}`);
    await check(page, 'endpoint-disabled');
    expect((await api('GET', `/api/v1/app/${app.id}/endpoint/${epId}`)).disabled === true, 'API does not say disabled');
    const off = (await api('GET', `/api/v1/app/${app.id}/endpoint/${epId}/health`)).disabled;
    expect(off && off.reason === 'manual' && off.by === 'portal' && off.at, `health disabled: ${JSON.stringify(off)}`);
    await page.click('[data-testid="enable"]');
    await page.waitForURL(/done=enabled$/);
    expect((await page.textContent('[data-testid="endpoint-status"]')).trim() === 'Active', 'not shown active');
    expect(await page.$('[data-testid="endpoint-reason"]') === null, 'a reason is still shown after the enable');
    expect((await api('GET', `/api/v1/app/${app.id}/endpoint/${epId}`)).disabled === false, 'API does not say enabled');
    expect((await api('GET', `/api/v1/app/${app.id}/endpoint/${epId}/health`)).disabled === null, 'health still says disabled');

    // Delete, behind a confirmation.
    await page.click('[data-testid="delete"]');
    await page.waitForURL(/\/delete$/);
    await check(page, 'endpoint-delete');
    expect((await api('GET', `/api/v1/app/${app.id}/endpoint`)).data.length === 1, 'deleted before confirming');
    await page.click('[data-testid="confirm-delete"]');
    await page.waitForURL(/done=deleted$/);
    await page.waitForSelector('[data-testid="endpoints-empty"]');
    expect((await api('GET', `/api/v1/app/${app.id}/endpoint`)).data.length === 0, 'not deleted');
  } finally {
    rx.close();
  }
});

test('a read-only session sees the endpoint pages without a way to change them', async (page) => {
  const app = await createApp('endpoints-ro');
  const ep = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: 'https://receiver.example/hooks' });
  await openMagicLink(page, app.id, { readOnly: true });
  for (const [p, name] of [[`/portal/endpoints/${ep.id}`, 'endpoint-readonly'], [`/portal/endpoints/${ep.id}/secret`, 'secret-readonly']]) {
    await visit(page, p, name);
    const forms = await page.$$eval('form[method="post"]', (fs) => fs.map((f) => f.getAttribute('action')));
    expect(forms.every((a) => a.startsWith('/portal/logout')), `${p}: change forms on a read-only page: ${forms}`);
  }
});

test('the event catalog shows each type with its schema and example', async (page) => {
  await eventType('contact.created', contactSchema);
  const app = await createApp('catalog');
  await openMagicLink(page, app.id);
  await visit(page, '/portal/catalog', 'catalog-full');
  const article = '[data-testid="event-type"][data-name="contact.created"]';
  await page.waitForSelector(`${article} [data-testid="schema"]`);
  const schema = await page.textContent(`${article} [data-testid="schema"]`);
  expect(/data\.email/.test(schema) && /string or null/.test(schema), `schema: ${schema}`);
  const example = await page.textContent(`${article} [data-testid="example"]`);
  expect(example.includes('"email": "ada@example.com"'), `example: ${example}`);
});

test('the console lists a failing endpoint first and opens its portal', async (page) => {
  const failing = await receiver(500);
  const fine = await receiver(204);
  try {
    const okApp = await createApp('console-ok');
    await api('POST', `/api/v1/app/${okApp.id}/endpoint`, { url: fine.url });
    const app = await createApp('console-failing');
    await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: fine.url, description: 'fine' });
    const bad = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: failing.url, description: 'failing' });
    await api('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'call.completed', payload: { n: 1 } });
    await waitFor(async () => (await api('GET', `/api/v1/app/${app.id}/endpoint/${bad.id}/health`)).failingSince, 'the endpoint to fail');

    await consoleLogin(page);
    await check(page, 'console');
    // Applications with failing or disabled endpoints come first, and
    // within one its failing endpoints.
    const apps = await page.$$eval('[data-testid="console-app"]', (as) => as.map((a) => [a.dataset.appId, Number(a.dataset.problems)]));
    const at = apps.findIndex(([id]) => id === app.id);
    const firstFine = apps.findIndex(([, n]) => n === 0);
    expect(at >= 0 && apps[at][1] === 1, `application row: ${JSON.stringify(apps[at])}`);
    expect(firstFine === -1 || at < firstFine, `failing application at ${at}, one without problems at ${firstFine}: ${JSON.stringify(apps)}`);
    expect(apps.slice(0, at).every(([, n]) => n > 0), `an application without problems comes before: ${JSON.stringify(apps)}`);
    const rows = await page.$$eval(`[data-app-id="${app.id}"] [data-testid="console-endpoint"]`, (rs) => rs.map((r) => [r.dataset.endpointId, r.dataset.status]));
    expect(rows.length === 2 && rows[0][0] === bad.id && rows[0][1] === 'Failing' && rows[1][1] === 'Active', `endpoints: ${JSON.stringify(rows)}`);
    const due = await page.textContent('[data-testid="queue-due"]');
    expect(/^\d+$/.test(due.trim()), `queue due: ${due}`);

    await page.click(`[data-testid="console-app"][data-app-id="${app.id}"] [data-testid="open-portal"]`);
    await page.waitForURL(/\/portal\/endpoints$/);
    await page.waitForSelector(`[data-endpoint-id="${bad.id}"]`);
    expect((await page.textContent(`[data-endpoint-id="${bad.id}"] [data-testid="endpoint-status"]`)).trim() === 'Failing', 'portal does not show it failing');
    await check(page, 'console-opened-portal');
  } finally {
    failing.close();
    fine.close();
  }
});

await run();
