// Browser spec for the portal's activity, testing and health pages, in
// Debian's Chromium driven by playwright-core, at 1280 px and 375 px wide.
//
// It needs a running hookrelay (HOOKRELAY_URL, HOOKRELAY_ADMIN_TOKEN) that
// may deliver to 127.0.0.1, and starts its own receiver: /ok answers 200,
// /flaky answers 500 until the spec makes it answer 200. Through the
// portal it sends a test event and sees its response code appear without
// a reload, finds it in the activity log, opens the detail, filters the
// log, retries a failed attempt once the receiver works, views the health
// charts, and starts a recovery. axe-core must find no serious or critical
// violation on any page, no page may break the Content-Security-Policy or
// scroll sideways, and every page is saved as a screenshot in
// SCREENSHOT_DIR (default e2e/browser/screenshots).
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const base = (process.env.HOOKRELAY_URL || "").replace(/\/$/, "");
const adminToken = process.env.HOOKRELAY_ADMIN_TOKEN || "";
const shots = process.env.SCREENSHOT_DIR || join(here, "screenshots");
const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
if (!base || !adminToken) {
  console.error("activity.mjs: set HOOKRELAY_URL and HOOKRELAY_ADMIN_TOKEN");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

function fail(msg) {
  throw new Error(msg);
}

// --- a real receiver --------------------------------------------------
let flakyFails = true;
const received = [];
const receiver = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    received.push({ path: req.url, auth: req.headers["authorization"] || "" });
    if (req.url === "/flaky" && flakyFails) {
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end("database unavailable");
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end('{"received":true}');
  });
});
await new Promise((ok) => receiver.listen(0, "127.0.0.1", ok));
const receiverURL = `http://127.0.0.1:${receiver.address().port}`;

// --- the REST API as the SaaS backend ---------------------------------
async function api(method, path, body, want) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (want && !want.includes(res.status)) fail(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function setup(tag) {
  await api("POST", "/api/v1/event-type", {
    name: "contact.created",
    description: "A contact was created",
    schemas: { 1: { type: "object", examples: [{ contactId: "c_example", name: "Ada" }] } },
  }, [201, 409]);
  const app = await api("POST", "/api/v1/app", { name: `Acme ${tag}`, uid: `acme-activity-${tag}-${Date.now()}` }, [201]);
  const ok = await api("POST", `/api/v1/app/${app.id}/endpoint`, { url: `${receiverURL}/ok`, description: "Orders service" }, [201]);
  await api("PUT", `/api/v1/app/${app.id}/endpoint/${ok.id}/headers`, {
    headers: { Authorization: "Bearer sk_live_browser_secret", "X-Team": "blue" },
  }, [204]);
  const flaky = await api("POST", `/api/v1/app/${app.id}/endpoint`, { url: `${receiverURL}/flaky`, description: "Flaky service" }, [201]);
  const access = await api("POST", `/api/v1/auth/app-portal-access/${app.id}`, {}, [200]);
  return { app, ok, flaky, link: access.url };
}

// --- checks every page gets --------------------------------------------
async function checkPage(page, name, width, cspErrors) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ["violations"] }),
  );
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) {
    fail(`${name} at ${width}px: axe: ` + bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`).join("; "));
  }
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) fail(`${name} at ${width}px scrolls sideways by ${overflow}px`);
  if (cspErrors.length) fail(`${name} at ${width}px: CSP violations or requests elsewhere: ${cspErrors.join("; ")}`);
  await page.screenshot({ path: join(shots, `activity-${name}-${width}.png`), fullPage: true });
}

async function expectText(locator, re, what) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const text = (await locator.count()) ? await locator.first().innerText() : "";
    if (re.test(text)) return text;
    if (Date.now() > deadline) fail(`timed out waiting for ${what}: got ${JSON.stringify(text)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// reloadUntil reloads the page until the locator's text matches.
async function reloadUntil(page, locator, re, what) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const text = (await locator.count()) ? await locator.first().innerText() : "";
    if (re.test(text)) return;
    if (Date.now() > deadline) fail(`timed out waiting for ${what}: got ${JSON.stringify(text)}`);
    await new Promise((r) => setTimeout(r, 300));
    await page.reload();
  }
}

async function run(browser, width) {
  flakyFails = true;
  const { ok, flaky, link } = await setup(width);
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  const cspErrors = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.origin !== new URL(base).origin && u.protocol !== "data:") cspErrors.push(`request to another server: ${r.url()}`);
  });
  await page.goto(link);

  // Testing: the example to the ok endpoint; the result arrives without
  // a reload (the marker set after the page loaded survives).
  await page.goto(`${base}/portal/testing`);
  await page.getByTestId("testing-endpoint").selectOption(ok.id);
  await page.getByTestId("testing-event-type").selectOption("contact.created");
  await page.getByTestId("load-example").click();
  await page.waitForURL(/event_type=contact\.created/);
  if (!/c_example/.test(await page.getByTestId("testing-payload").inputValue())) fail("the example payload is not in the form");
  await page.getByTestId("send-test").click();
  await page.waitForURL(/msg=/);
  await page.evaluate(() => (window.__noReload = true));
  await expectText(page.getByTestId("result-code"), /HTTP 200/, "the test event's response code");
  if (!(await page.evaluate(() => window.__noReload === true))) fail("the page reloaded while waiting for the result");
  await checkPage(page, "testing", width, cspErrors);

  // A test event to the flaky endpoint fails with 500, said in words.
  await page.goto(`${base}/portal/testing`);
  await page.getByTestId("testing-endpoint").selectOption(flaky.id);
  await page.getByTestId("load-example").click();
  await page.waitForURL(new RegExp(`endpoint=${flaky.id}`));
  await page.getByTestId("testing-payload").fill('{"contactId": "c_edited"}');
  await page.getByTestId("send-test").click();
  await page.waitForURL(/msg=/);
  await expectText(page.getByTestId("result-reason"), /HTTP 500.*server error on its side/s, "the failed attempt's reason");

  // The activity log shows both, with their status.
  await page.getByTestId("nav-activity").click();
  await expectText(page.getByTestId("activity-table"), /contact\.created/, "the log's rows");
  if ((await page.getByTestId("activity-row").count()) < 2) fail("the log lacks the test events");
  await checkPage(page, "log", width, cspErrors);

  // Filter: the flaky endpoint's failed attempts.
  await page.getByTestId("filter-endpoint").selectOption(flaky.id);
  await page.getByTestId("filter-status").selectOption("failed");
  await page.getByTestId("filter-apply").click();
  await page.waitForURL(/status=failed/);
  const rows = page.getByTestId("activity-row");
  if ((await rows.count()) !== 1) fail(`filtered log has ${await rows.count()} rows, want 1`);
  await expectText(rows.first().getByTestId("row-code"), /^500$/, "the failed row's response code");
  await checkPage(page, "log-filtered", width, cspErrors);

  // The detail: failure in words, secrets hidden.
  await rows.first().getByTestId("row-detail").click();
  await expectText(page.getByTestId("failure-reason"), /HTTP 500 Internal Server Error/, "the failure reason");
  await checkPage(page, "attempt-failed", width, cspErrors);

  // Retry once the receiver works.
  flakyFails = false;
  await page.getByTestId("resend").click();
  await expectText(page.getByTestId("resent"), /Sent again/, "the resend note");
  await reloadUntil(page, page.getByTestId("destination-status"), /Succeeded/, "the retried delivery's success");
  await checkPage(page, "message", width, cspErrors);

  // The ok endpoint's attempt: the Authorization header stays hidden.
  await page.goto(`${base}/portal/activity?endpoint=${ok.id}`);
  await page.getByTestId("row-detail").first().click();
  const headers = await page.getByTestId("request-headers").innerText();
  if (headers.includes("sk_live_browser_secret") || !/Authorization/.test(headers) || !/blue/.test(headers)) {
    fail(`request headers shown: ${headers}`);
  }
  await checkPage(page, "attempt-ok", width, cspErrors);

  // Health: the charts, drawn on the server.
  await page.getByTestId("nav-health").click();
  await page.getByTestId("health-endpoint").selectOption(flaky.id);
  await page.getByTestId("health-show").click();
  await page.waitForURL(/endpoint=/);
  const chart = page.getByTestId("chart-success");
  if (!(await chart.isVisible())) fail("the success chart is not visible");
  const title = await page.locator("#chart-success-title").textContent();
  if (!/Success rate of Flaky service/.test(title)) fail(`chart title ${title}`);
  await expectText(page.getByTestId("health-rate"), /%/, "the success rate as text");
  await checkPage(page, "health", width, cspErrors);
  await page.getByTestId("window-7d").click();
  await page.waitForURL(/window=7d/);
  await checkPage(page, "health-7d", width, cspErrors);

  // Recover: the form, then the task's progress.
  await page.goto(`${base}/portal/activity/recover?endpoint=${flaky.id}`);
  await checkPage(page, "recover", width, cspErrors);
  await page.getByTestId("recover-submit").click();
  await page.waitForURL(/\/portal\/activity\/task\//);
  await reloadUntil(page, page.getByTestId("task"), /Finished/, "the recovery to finish");
  await checkPage(page, "task", width, cspErrors);

  if (!received.some((r) => r.auth === "Bearer sk_live_browser_secret")) fail("the receiver never got the Authorization header");
  await context.close();
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let code = 0;
try {
  for (const width of [1280, 375]) {
    await run(browser, width);
    console.log(`activity.mjs: ${width}px ok`);
  }
} catch (e) {
  console.error(`activity.mjs: ${e.stack || e}`);
  code = 1;
} finally {
  await browser.close();
  receiver.close();
}
process.exit(code);
