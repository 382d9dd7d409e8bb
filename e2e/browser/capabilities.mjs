// Portal sessions of narrower capabilities in a real browser, at 1280 and
// 375 px: with ViewBase alone the signing secret is never shown and no
// control changes anything; with ViewBase and ManageEndpoint the endpoint
// can be edited and its secret revealed and rotated (Svix: "any field or
// configuration of an endpoint (including secrets)"), but nothing is
// resent.
import {
  api, base, check, createApp, expect, openMagicLink, run, test, visit,
} from './lib.mjs';

// setup makes an application with an endpoint, a message sent to it and
// an event type to test with; it returns them and the endpoint's secret.
async function setup(prefix) {
  try {
    await api('POST', '/api/v1/event-type', { name: 'caps.checked', description: 'When capabilities are checked.' });
  } catch (err) {
    if (!/409/.test(err.message)) throw err;
  }
  const app = await createApp(prefix);
  const ep = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: 'https://receiver.example/hooks', description: 'CRM' });
  const msg = await api('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'caps.checked', payload: { n: 1 } });
  const { key } = await api('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}/secret`);
  return { app, ep, msg, secret: key };
}

// pages are the portal pages that offer changes, when the session may.
function pages(ep, msg) {
  return [
    ['/portal/endpoints', 'endpoints'],
    [`/portal/endpoints/${ep.id}`, 'endpoint'],
    [`/portal/endpoints/${ep.id}/secret`, 'secret'],
    ['/portal/activity', 'activity'],
    [`/portal/activity/msg/${msg.id}`, 'message'],
    [`/portal/activity/recover?endpoint=${ep.id}`, 'recover'],
    [`/portal/testing?endpoint=${ep.id}&event_type=caps.checked`, 'testing'],
  ];
}

// postForms returns the actions of the page's forms that post.
async function postForms(page) {
  return page.$$eval('form[method="post"]', (fs) => fs.map((f) => f.getAttribute('action')));
}

// present returns which of the data-testids are on the page.
async function present(page, ids) {
  const out = [];
  for (const id of ids) {
    if (await page.$(`[data-testid="${id}"]`)) out.push(id);
  }
  return out;
}

const secretControls = ['reveal', 'secret-value', 'rotate', 'copy'];
const endpointControls = ['new-endpoint', 'save', 'disable', 'enable', 'delete', 'add-header', 'confirm-delete'];
const attemptControls = ['resend', 'to-recover', 'recover-form', 'testing-form'];

test('with ViewBase alone the secret is not shown and nothing can be changed', async (page) => {
  const { app, ep, msg, secret } = await setup('caps-viewbase');
  const link = await openMagicLink(page, app.id, { capabilities: ['ViewBase'] });
  await page.waitForSelector('[data-testid="read-only"]');
  for (const [p, name] of pages(ep, msg)) {
    await visit(page, p, 'caps-viewbase-' + name);
    const forms = await postForms(page);
    expect(forms.every((a) => a.startsWith('/portal/logout')), `${p}: change forms: ${forms}`);
    const shown = await present(page, [...secretControls, ...endpointControls, ...attemptControls]);
    expect(shown.length === 0, `${p}: offers ${shown}`);
    expect(!(await page.content()).includes(secret), `${p}: shows the signing secret`);
  }
  await page.goto(base + `/portal/endpoints/${ep.id}/secret`);
  await page.waitForSelector('[data-testid="secret-not-viewable"]');
  await page.waitForSelector('[data-testid="secret-masked"]');

  // Asking for the secret by address is refused, and shows nothing of it.
  const res = await page.goto(base + `/portal/endpoints/${ep.id}/secret?reveal=1`);
  expect(res.status() === 403, `reveal by address answered ${res.status()}`);
  const text = await page.textContent('main');
  expect(/ViewEndpointSecret/.test(text) && !text.includes(secret), `reveal by address shows: ${text}`);

  // The token itself, from the page, is refused the same.
  const statuses = await page.evaluate(async ({ token, appId, epId }) => {
    const call = (method, p, body) => fetch(p, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    }).then((r) => r.status);
    return [
      await call('GET', `/api/v1/app/${appId}/endpoint/${epId}`),
      await call('GET', `/api/v1/app/${appId}/endpoint/${epId}/secret`),
      await call('PATCH', `/api/v1/app/${appId}/endpoint/${epId}`, { description: 'x' }),
    ];
  }, { token: link.token, appId: app.id, epId: ep.id });
  expect(statuses.join() === '200,403,403', `the token's reads and changes answered ${statuses}`);
});

test('with ViewBase and ManageEndpoint the endpoint is edited, the secret revealed and rotated', async (page) => {
  const { app, ep, msg, secret } = await setup('caps-manage');
  await openMagicLink(page, app.id, { capabilities: ['ViewBase', 'ManageEndpoint'] });
  expect(!(await page.$('[data-testid="read-only"]')), 'a session that may edit endpoints says it is read-only');
  for (const [p, name] of pages(ep, msg)) {
    await visit(page, p, 'caps-manage-' + name);
    const shown = await present(page, attemptControls);
    expect(shown.length === 0, `${p}: offers ${shown}`);
    // The secret is offered, not shown until asked for.
    expect(!(await page.content()).includes(secret), `${p}: shows the signing secret unasked`);
  }
  await page.goto(base + '/portal/endpoints');
  await page.waitForSelector('[data-testid="new-endpoint"]');
  await page.goto(base + `/portal/endpoints/${ep.id}`);
  const offered = await present(page, ['save', 'disable', 'delete', 'add-header']);
  expect(offered.length === 4, `the endpoint page offers only ${offered}`);
  await page.waitForSelector('[data-testid="secret-link"]');

  await page.fill('[data-testid="description"]', 'CRM, edited in the portal');
  await Promise.all([page.waitForURL(/done=saved$/), page.click('[data-testid="save"]')]);
  const stored = await api('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`);
  expect(stored.description === 'CRM, edited in the portal', `description after saving: ${stored.description}`);

  // The secret: revealed on demand, then rotated.
  await page.click('[data-testid="secret-link"]');
  await page.waitForURL(/\/secret$/);
  const offers = await present(page, ['reveal', 'rotate', 'secret-not-viewable']);
  expect(offers.join() === 'reveal,rotate', `the secret page offers ${offers}`);
  await page.click('[data-testid="reveal"]');
  const shown = await page.inputValue('[data-testid="secret-value"]');
  expect(shown === secret, `revealed ${shown}, API has ${secret}`);
  await check(page, 'caps-manage-secret-revealed');
  await page.click('[data-testid="rotate"]');
  await page.waitForURL(/done=rotated$/);
  await page.waitForSelector('[data-testid="grace"]');
  await check(page, 'caps-manage-secret-rotated');
  const after = await api('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}/secret`);
  expect(after.key !== secret && after.key.startsWith('whsec_'), `the secret after rotating: ${after.key}`);
  expect(!(await page.content()).includes(after.key), 'the new secret is shown unasked');
});

await run();
