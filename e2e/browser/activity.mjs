// The portal's activity, testing and health pages in a real browser,
// against a real receiver this spec runs: /ok answers 200, /flaky answers
// 500 until the spec lets it answer 200. Through the portal: send a test
// event and see its response code appear without a reload, find it in the
// activity log, open the detail (secrets hidden, the failure in words),
// filter the log (by status alone, across endpoints, and by endpoint),
// retry a failed attempt once the receiver works, view the health charts,
// recover an endpoint and follow the task; a read-only
// session gets no change form. Every page is checked (axe-core, no
// sideways scroll) and saved as a screenshot, at 1280 and 375 px (lib.mjs).
import { createServer } from 'node:http';
import { api, base, check, createApp, expect, openMagicLink, run, test, waitFor } from './lib.mjs';

// --- a real receiver --------------------------------------------------
let flakyFails = true;
const received = [];
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received.push({ path: req.url, auth: req.headers.authorization || '' });
    if (req.url === '/flaky' && flakyFails) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('database unavailable');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"received":true}');
  });
});
await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok));
const receiverURL = `http://127.0.0.1:${receiver.address().port}`;

// setup makes an application with an ok endpoint (with a secret header)
// and a flaky one, and the event type the tests send.
async function setup() {
  try {
    await api('POST', '/api/v1/event-type', {
      name: 'contact.created',
      description: 'A contact was created',
      schemas: { 1: { type: 'object', examples: [{ contactId: 'c_example', name: 'Ada' }] } },
    });
  } catch (e) {
    if (!/409/.test(String(e))) throw e;
  }
  const app = await createApp('activity');
  const ok = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: `${receiverURL}/ok`, description: 'Orders service' });
  await api('PUT', `/api/v1/app/${app.id}/endpoint/${ok.id}/headers`, {
    headers: { Authorization: 'Bearer sk_live_browser_secret', 'X-Team': 'blue' },
  });
  const flaky = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: `${receiverURL}/flaky`, description: 'Flaky service' });
  return { app, ok, flaky };
}

// text waits until the first element of testid has text matching re.
async function text(page, testid, re, what) {
  const loc = page.getByTestId(testid).first();
  return waitFor(async () => {
    const t = (await loc.count()) ? await loc.innerText() : '';
    return re.test(t) ? t : null;
  }, what, 20000);
}

// reloadUntil reloads the page until testid's text matches re.
async function reloadUntil(page, testid, re, what) {
  const loc = page.getByTestId(testid).first();
  await waitFor(async () => {
    if ((await loc.count()) && re.test(await loc.innerText())) return true;
    await page.reload();
    return false;
  }, what, 30000);
}

// cspWatch collects CSP violations and requests to other servers.
function cspWatch(page) {
  const problems = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) problems.push(`request to ${r.url()}`);
  });
  return problems;
}

// sendTest sends a test event from the testing page to endpoint and waits
// for the page (after its redirect) to show the result box.
async function sendTest(page, endpointId, payload) {
  await page.getByTestId('nav-testing').click();
  await page.waitForURL(/\/portal\/testing/);
  await page.getByTestId('testing-endpoint').selectOption(endpointId);
  await page.getByTestId('testing-event-type').selectOption('contact.created');
  await Promise.all([page.waitForURL(/event_type=contact\.created/), page.getByTestId('load-example').click()]);
  expect(/c_example/.test(await page.getByTestId('testing-payload').inputValue()), 'the example payload is not in the form');
  if (payload !== undefined) await page.getByTestId('testing-payload').fill(payload);
  await Promise.all([page.waitForURL(/msg=/), page.getByTestId('send-test').click()]);
}

test('a test event, the log, the detail, a retry, health and recovery', async (page) => {
  flakyFails = true;
  const problems = cspWatch(page);
  const { app, ok, flaky } = await setup();
  await openMagicLink(page, app.id);

  // A test event to the ok endpoint: the response code appears without a
  // reload (a marker set once the page loaded survives the wait).
  await sendTest(page, ok.id);
  await page.evaluate(() => { window.noReload = true; });
  await text(page, 'result-code', /HTTP 200/, 'the test event\'s response code');
  expect(await page.evaluate(() => window.noReload === true), 'the page reloaded while waiting for the result');
  await check(page, 'activity-testing');

  // An edited payload to the flaky endpoint fails with 500, said in words.
  await sendTest(page, flaky.id, '{"contactId": "c_edited"}');
  await text(page, 'result-reason', /HTTP 500[\s\S]*server error on its side/, 'the failed attempt\'s reason');

  // The log lists both messages with their delivery status.
  await page.getByTestId('nav-activity').click();
  await page.waitForURL(/\/portal\/activity$/);
  expect(await page.getByTestId('activity-row').count() === 2, 'the log does not list the two test events');
  await check(page, 'activity-log');

  // Filtering by status alone: every failed attempt of the application,
  // across its endpoints, each with its endpoint; then the succeeded ones
  // of one event type.
  await page.getByTestId('filter-status').selectOption('failed');
  await Promise.all([page.waitForURL(/status=failed/), page.getByTestId('filter-apply').click()]);
  expect(await page.getByTestId('filter-endpoint').inputValue() === '', 'an endpoint was chosen');
  // (The flaky endpoint's retries may have added attempts by now.)
  expect(await page.getByTestId('activity-row').count() >= 1, 'the log lists no failed attempt');
  for (const code of await page.getByTestId('row-code').allInnerTexts()) expect(code === '500', `failed row with code ${code}`);
  for (const ep of await page.getByTestId('row-endpoint').allInnerTexts()) expect(ep === 'Flaky service', `failed row of endpoint ${ep}`);
  await check(page, 'activity-log-failed-everywhere');
  await page.getByTestId('filter-status').selectOption('succeeded');
  await page.getByTestId('filter-event-type').selectOption('contact.created');
  await Promise.all([page.waitForURL(/status=succeeded.*event_type=contact\.created|event_type=contact\.created.*status=succeeded/), page.getByTestId('filter-apply').click()]);
  expect(await page.getByTestId('activity-row').count() === 1, 'the log does not list the one succeeded attempt');
  expect(await page.getByTestId('row-code').first().innerText() === '200', 'the succeeded row has no 200');
  expect(await page.getByTestId('row-endpoint').first().innerText() === 'Orders service', 'the succeeded row is not the ok endpoint\'s');
  await check(page, 'activity-log-succeeded-everywhere');
  await page.getByTestId('filter-event-type').selectOption('');

  // Filtering: the flaky endpoint's failed attempts, with their code.
  await page.getByTestId('filter-endpoint').selectOption(flaky.id);
  await page.getByTestId('filter-status').selectOption('failed');
  await Promise.all([page.waitForURL(/status=failed/), page.getByTestId('filter-apply').click()]);
  const rows = page.getByTestId('activity-row');
  expect(await rows.count() >= 1, 'no failed attempt in the filtered log');
  for (const code of await page.getByTestId('row-code').allInnerTexts()) expect(code === '500', `filtered row with code ${code}`);
  await check(page, 'activity-log-filtered');

  // The attempt's detail: the failure in plain words.
  await Promise.all([page.waitForURL(/\/attempt\//), rows.first().getByTestId('row-detail').click()]);
  await text(page, 'failure-reason', /HTTP 500 Internal Server Error/, 'the failure reason');
  await check(page, 'activity-attempt-failed');

  // Retry once the receiver works: the delivery succeeds.
  flakyFails = false;
  await Promise.all([page.waitForURL(/resent=/), page.getByTestId('resend').click()]);
  await text(page, 'resent', /Sent again/, 'the resend note');
  await reloadUntil(page, 'destination-status', /Succeeded/, 'the retried delivery to succeed');
  expect(await page.getByTestId('attempt').count() >= 2, 'the retry made no new attempt');
  await check(page, 'activity-message');

  // The ok endpoint's attempt: its Authorization header stays hidden.
  await page.goto(`${base}/portal/activity?endpoint=${ok.id}`);
  await Promise.all([page.waitForURL(/\/attempt\//), page.getByTestId('row-detail').first().click()]);
  const headers = await page.getByTestId('request-headers').innerText();
  expect(!headers.includes('sk_live_browser_secret') && /Authorization/.test(headers) && /blue/.test(headers), `request headers shown: ${headers}`);
  expect(received.some((r) => r.auth === 'Bearer sk_live_browser_secret'), 'the receiver never got the Authorization header');
  await check(page, 'activity-attempt-ok');

  // Health: the server-drawn charts, and their figures as text.
  await page.getByTestId('nav-health').click();
  await page.getByTestId('health-endpoint').selectOption(flaky.id);
  await Promise.all([page.waitForURL(/endpoint=/), page.getByTestId('health-show').click()]);
  expect(await page.getByTestId('chart-success').isVisible(), 'the success chart is not shown');
  expect(await page.getByTestId('chart-response').isVisible(), 'the response time chart is not shown');
  const title = await page.locator('#chart-success-title').textContent();
  expect(/Success rate of Flaky service/.test(title), `chart title: ${title}`);
  await text(page, 'health-rate', /%/, 'the success rate as text');
  await check(page, 'activity-health');
  await Promise.all([page.waitForURL(/window=7d/), page.getByTestId('window-7d').click()]);
  await check(page, 'activity-health-7d');
  await Promise.all([page.waitForURL(/window=30d/), page.getByTestId('window-30d').click()]);
  await check(page, 'activity-health-30d');
  // The charts follow the dark theme (the default theme is auto).
  await page.emulateMedia({ colorScheme: 'dark' });
  await Promise.all([page.waitForURL(/window=24h/), page.getByTestId('window-24h').click()]);
  await check(page, 'activity-health-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // Recovery: the form, then the background task's progress.
  await page.goto(`${base}/portal/activity/recover?endpoint=${flaky.id}`);
  await check(page, 'activity-recover');
  await Promise.all([page.waitForURL(/\/portal\/activity\/task\//), page.getByTestId('recover-submit').click()]);
  await reloadUntil(page, 'task', /Finished/, 'the recovery to finish');
  await check(page, 'activity-task');

  expect(problems.length === 0, `CSP violations or requests elsewhere: ${problems.join('; ')}`);
});

test('a read-only session can look but not send, resend or recover', async (page) => {
  const { app, flaky } = await setup();
  await openMagicLink(page, app.id, { readOnly: true });
  for (const [path, name] of [
    ['/portal/testing', 'activity-readonly-testing'],
    [`/portal/activity?endpoint=${flaky.id}`, 'activity-readonly-log'],
    [`/portal/activity/recover?endpoint=${flaky.id}`, 'activity-readonly-recover'],
    [`/portal/health?endpoint=${flaky.id}`, 'activity-readonly-health'],
  ]) {
    await page.goto(base + path);
    await check(page, name);
    const forms = await page.$$eval('form[method="post"]', (fs) => fs.map((f) => f.getAttribute('action')));
    expect(forms.every((a) => a.startsWith('/portal/logout')), `${path}: change forms on a read-only page: ${forms}`);
  }
});

try {
  await run();
} finally {
  receiver.close();
}
