// Drives a live hookrelay with the official Svix JavaScript SDK through every
// call it offers for applications, event types, endpoints, messages,
// attempts, authentication, background tasks, statistics and operational
// webhooks, and verifies every delivery with the standardwebhooks package.
//
// Environment: HOOKRELAY_URL and HOOKRELAY_TOKEN (an admin token) name the
// server; SVIX_PACKAGE is the SDK's package name in node_modules ("svix" for
// 1.99.x, "svix2" for 2.x). Prints one line per check ("ok", "FAIL" or
// "not served") and exits 1 when any check failed.
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

const pkgName = process.env.SVIX_PACKAGE || "svix";
const svixModule = await import(pkgName);
const Svix = svixModule.Svix ?? svixModule.default?.Svix;
const swModule = await import("standardwebhooks");
const Webhook = swModule.Webhook ?? swModule.default?.Webhook;
const sdkVersion = (await import(pkgName + "/package.json", { with: { type: "json" } })).default.version;

const serverUrl = process.env.HOOKRELAY_URL;
const token = process.env.HOOKRELAY_TOKEN;
if (!serverUrl || !token) {
  console.error("HOOKRELAY_URL and HOOKRELAY_TOKEN are required");
  process.exit(2);
}
const svix = new Svix(token, { serverUrl });
const v2 = Number(sdkVersion.split(".")[0]) >= 2;
console.log(`svix ${sdkVersion} (${pkgName}) against ${serverUrl}`);

// ---- checks ---------------------------------------------------------------

const results = { ok: 0, failed: [], notServed: [] };

async function step(name, fn) {
  try {
    const v = await fn();
    results.ok++;
    console.log(`ok   ${name}`);
    return v;
  } catch (e) {
    results.failed.push(name);
    console.log(`FAIL ${name}: ${e?.code ?? ""} ${e?.stack ?? e} ${e?.body ? JSON.stringify(e.body) : ""}`);
    return undefined;
  }
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

// field checks a response field the current API document requires.
function field(obj, name, what) {
  check(obj !== undefined && obj !== null && obj[name] !== undefined, `${what} has no ${name}: ${JSON.stringify(obj)}`);
}

// dateField checks a date-time field the current API document requires:
// the SDKs read a missing one as null or an invalid Date.
function dateField(obj, name, what) {
  const v = obj?.[name];
  check(v instanceof Date && !Number.isNaN(v.getTime()), `${what} has no ${name}: ${JSON.stringify(obj)}`);
}

async function waitFor(what, cond, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// A call hookrelay does not serve must be refused with a clear 404 (the
// Svix error body), never accepted and ignored.
async function notServed(name, why, fn) {
  try {
    await fn();
    results.failed.push(name);
    console.log(`FAIL ${name}: answered although not served`);
  } catch (e) {
    if (e?.code === 404 || e?.code === 405) {
      results.notServed.push(`${name} (${why})`);
      console.log(`not served ${name}: ${e.code} (${why})`);
    } else {
      results.failed.push(name);
      console.log(`FAIL ${name}: want 404, got ${e?.code ?? e}`);
    }
  }
}

// ---- the receiver -----------------------------------------------------------

// Every request is kept with whether its signature verified under one of
// the secrets its endpoint has had.
const deliveries = [];
const secrets = new Map(); // path -> [whsec_...]
const answer = new Map(); // path -> status code
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const path = req.url;
    let verified = false;
    let payload;
    for (const s of secrets.get(path) ?? []) {
      try {
        payload = new Webhook(s).verify(body, req.headers);
        verified = true;
        break;
      } catch {
        // try the endpoint's other secrets
      }
    }
    deliveries.push({ path, id: req.headers["webhook-id"], headers: req.headers, body, verified, payload });
    res.statusCode = answer.get(path) ?? 200;
    res.end(`received ${path}`);
  });
});
await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
const recvURL = `http://127.0.0.1:${receiver.address().port}`;
const received = (path, msgId) => deliveries.filter((d) => d.path === path && (!msgId || d.id === msgId));

// ---- event types ------------------------------------------------------------

const suffix = Date.now().toString(36);
const etSignup = `user.signup.${suffix}`;
const etPaid = `order.paid.${suffix}`;
const etGone = `to.delete.${suffix}`;

await step("health.get", () => svix.health.get());

await step("eventType.create (with an example)", async () => {
  const et = await svix.eventType.create({
    name: etSignup,
    description: "A user signed up",
    schemas: { 1: { type: "object", properties: { id: { type: "string" } }, examples: [{ id: "u_1" }] } },
  });
  check(et.name === etSignup && et.schemas?.["1"]?.examples?.length === 1, "created event type");
});
await step("eventType.create (schema, no example)", async () => {
  await svix.eventType.create({
    name: etPaid,
    description: "An order was paid",
    schemas: { 1: { type: "object", required: ["amount"], properties: { amount: { type: "integer", minimum: 1 }, currency: { type: "string", enum: ["EUR"] } } } },
  });
});
await step("eventType.create (to delete)", () => svix.eventType.create({ name: etGone, description: "gone soon" }));
await step("eventType.list", async () => {
  const l = await svix.eventType.list({ limit: 250, withContent: true });
  check(l.data.some((e) => e.name === etSignup), "listed");
  field(l, "done", "ListResponseEventTypeOut");
});
await step("eventType.get", async () => check((await svix.eventType.get(etSignup)).description === "A user signed up", "get"));
await step(v2 ? "eventType.upsert" : "eventType.update", async () => {
  const fn = v2 ? svix.eventType.upsert : svix.eventType.update;
  const et = await fn.call(svix.eventType, etGone, { description: "updated" });
  check(et.description === "updated", "updated description");
});
await step("eventType.patch", async () => check((await svix.eventType.patch(etGone, { deprecated: true })).deprecated === true, "patched"));
await step("eventType.delete (archive)", async () => {
  await svix.eventType.delete(etGone);
  check((await svix.eventType.get(etGone)).archived === true, "archived");
});
await step("eventType.delete (expunge)", async () => {
  await svix.eventType.delete(etGone, { expunge: true });
  await svix.eventType.get(etGone).then(
    () => check(false, "still there"),
    (e) => check(e.code === 404, "404 after expunge"),
  );
});
await step("eventType.importOpenapi", async () => {
  const name = `pet.new.${suffix}`;
  const out = await svix.eventType.importOpenapi({
    spec: {
      openapi: "3.1.0",
      info: { title: "pets", version: "1" },
      webhooks: {
        [name]: {
          post: {
            description: "A new pet",
            requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/Pet" } } } },
          },
        },
      },
      components: { schemas: { Pet: { type: "object", properties: { name: { type: "string" } } } } },
    },
  });
  check(out.data.modified.includes(name), `imported ${JSON.stringify(out)}`);
  const et = await svix.eventType.get(name);
  check(et.schemas?.["1"]?.properties?.name?.type === "string", "imported schema");
  const dry = await svix.eventType.importOpenapi({ specRaw: `webhooks:\n  ${name}:\n    post:\n      description: changed\n`, dryRun: true });
  check(dry.data.modified.includes(name) && (await svix.eventType.get(name)).description === "A new pet", "dry run changed nothing");
});

// ---- applications -------------------------------------------------------------

const app = await step("application.create", async () => {
  const a = await svix.application.create({ name: "js sdk", uid: `js-${suffix}`, metadata: { team: "e2e" } });
  check(a.uid === `js-${suffix}` && a.metadata.team === "e2e", "created app");
  dateField(a, "updatedAt", "ApplicationOut");
  return a;
});
await step("application.getOrCreate", async () => {
  const a = await svix.application.getOrCreate({ name: "js sdk", uid: `js-${suffix}` });
  check(a.id === app.id, "the same app");
});
await step("application.list", async () => check((await svix.application.list({ limit: 250 })).data.some((a) => a.id === app.id), "listed"));
await step("application.get", async () => check((await svix.application.get(`js-${suffix}`)).id === app.id, "by uid"));
await step(v2 ? "application.upsert" : "application.update", async () => {
  const fn = v2 ? svix.application.upsert : svix.application.update;
  check((await fn.call(svix.application, app.id, { name: "js sdk 2", uid: `js-${suffix}` })).name === "js sdk 2", "updated");
});
await step("application.patch", async () => check((await svix.application.patch(app.id, { metadata: { team: "p" } })).metadata.team === "p", "patched"));
await step("application.delete", async () => {
  const tmp = await svix.application.create({ name: "tmp" });
  await svix.application.delete(tmp.id);
  await svix.application.get(tmp.id).then(() => check(false, "still there"), (e) => check(e.code === 404, "404"));
});

// ---- endpoints --------------------------------------------------------------

const pathMain = "/main";
const pathFail = "/failing";
const pathLate = "/late";
const pathOp = "/operational";
answer.set(pathFail, 500);

async function newEndpoint(path, extra = {}) {
  const ep = await svix.endpoint.create(app.id, { url: recvURL + path, description: path, ...extra });
  secrets.set(path, [(await svix.endpoint.getSecret(app.id, ep.id)).key]);
  return ep;
}

// SDK 2.x renamed filterTypes to eventTypes.
const typesField = v2 ? "eventTypes" : "filterTypes";
let ep;
await step("endpoint.create", async () => {
  ep = await newEndpoint(pathMain, { uid: `main-${suffix}`, [typesField]: [etSignup, etPaid], channels: ["ch1", "ch2"], metadata: { k: "v" } });
  check(ep[typesField]?.length === 2 && ep.channels.length === 2, `created endpoint ${JSON.stringify(ep)}`);
});
const epFail = await step("endpoint.create (failing receiver)", () => newEndpoint(pathFail));
await step("endpoint.list", async () => check((await svix.endpoint.list(app.id, { limit: 50 })).data.length >= 2, "listed"));
await step("endpoint.get", async () => check((await svix.endpoint.get(app.id, `main-${suffix}`)).id === ep.id, "by uid"));
await step(v2 ? "endpoint.upsert" : "endpoint.update", async () => {
  const fn = v2 ? svix.endpoint.upsert : svix.endpoint.update;
  const e = await fn.call(svix.endpoint, app.id, ep.id, { url: recvURL + pathMain, uid: `main-${suffix}`, [typesField]: [etSignup, etPaid], channels: ["ch1", "ch2"], description: "updated" });
  check(e.description === "updated", "updated");
});
await step("endpoint.patch", async () => check((await svix.endpoint.patch(app.id, ep.id, { metadata: { k: "w" } })).metadata.k === "w", "patched"));
await step("endpoint.getHeaders", async () => {
  const h = await svix.endpoint.getHeaders(app.id, ep.id);
  check(h.headers && h.sensitive, "headers shape");
});
await step(v2 ? "endpoint.setHeaders" : "endpoint.updateHeaders", async () => {
  const fn = v2 ? svix.endpoint.setHeaders : svix.endpoint.updateHeaders;
  await fn.call(svix.endpoint, app.id, ep.id, { headers: { "X-Team": "e2e", "X-Gone": "1" } });
  check((await svix.endpoint.getHeaders(app.id, ep.id)).headers["X-Team"] === "e2e", "set");
});
await step("endpoint.patchHeaders", async () => {
  await svix.endpoint.patchHeaders(app.id, ep.id, { headers: { "X-More": "2" } });
  check((await svix.endpoint.getHeaders(app.id, ep.id)).headers["X-More"] === "2", "patched");
});
if (!v2) {
  await step("endpoint.headersUpdate", () => svix.endpoint.headersUpdate(app.id, ep.id, { headers: { "X-Team": "e2e", "X-Gone": "1" } }));
  await step("endpoint.headersPatch", () => svix.endpoint.headersPatch(app.id, ep.id, { headers: { "X-More": "3" } }));
}
await step("endpoint.patchHeaders (deleteHeaders)", async () => {
  await svix.endpoint.patchHeaders(app.id, ep.id, { headers: {}, deleteHeaders: ["X-Gone"] });
  check(!("X-Gone" in (await svix.endpoint.getHeaders(app.id, ep.id)).headers), "X-Gone deleted");
});
await step("endpoint.getSecret", async () => check((await svix.endpoint.getSecret(app.id, ep.id)).key.startsWith("whsec_"), "secret"));
await step("endpoint.rotateSecret", async () => {
  const key = "whsec_" + Buffer.from("0123456789abcdef0123456789abcdef").toString("base64");
  await svix.endpoint.rotateSecret(app.id, ep.id, { key });
  check((await svix.endpoint.getSecret(app.id, ep.id)).key === key, "rotated to the given key");
  secrets.get(pathMain).push(key);
});

// ---- messages ---------------------------------------------------------------

const msgs = [];
await step("message.create", async () => {
  for (let i = 0; i < 4; i++) {
    const m = await svix.message.create(app.id, { eventType: etSignup, payload: { i }, channels: ["ch1"], tags: [`t${i % 2}`] }, { withContent: true });
    check(m.eventType === etSignup && m.payload.i === i, `created message ${JSON.stringify(m)}`);
    msgs.push(m);
  }
});
await step("message.create (eventId, withContent false)", async () => {
  const m = await svix.message.create(app.id, { eventType: etSignup, eventId: `evt-${suffix}`, payload: { x: 1 }, channels: ["ch2"] }, { withContent: false });
  check(m.eventId === `evt-${suffix}`, "eventId");
  msgs.push(m);
});
await step("message.precheck", async () => {
  check((await svix.message.precheck(app.id, { eventType: etSignup, channels: ["ch1"] })).active === true, "active");
  const empty = await svix.application.create({ name: "no endpoints" });
  check((await svix.message.precheck(empty.id, { eventType: etSignup })).active === false, "inactive without endpoints");
  await svix.application.delete(empty.id);
});
await step("message.list", async () => check((await svix.message.list(app.id, { limit: 50, eventTypes: [etSignup], withContent: true })).data.length === 5, "listed"));
await step("message.get", async () => check((await svix.message.get(app.id, msgs[0].id, { withContent: true })).payload.i === 0, "payload"));
await step("deliveries of the main endpoint arrive, signed", () =>
  waitFor("five deliveries to the main endpoint", () => msgs.every((m) => received(pathMain, m.id).length >= 1)),
);
await waitFor("failures to settle", async () => (await svix.endpoint.getStats(app.id, epFail.id)).fail >= 5).catch(() => {});
await step("endpoint.getStats", async () => {
  const st = await svix.endpoint.getStats(app.id, ep.id);
  check(st.success === 5, `stats ${JSON.stringify(st)}`);
  field(st, "canceled", "EndpointStats");
});

// ---- attempts ---------------------------------------------------------------

let attempt;
await step("messageAttempt.listByEndpoint", async () => {
  const l = await svix.messageAttempt.listByEndpoint(app.id, ep.id, { limit: 50 });
  check(l.data.length >= 5, "attempts");
  attempt = l.data[0];
  field(attempt, "statusText", "MessageAttemptOut");
});
await step("messageAttempt.listByMsg", async () => check((await svix.messageAttempt.listByMsg(app.id, msgs[0].id)).data.length >= 2, "two endpoints"));
await step("messageAttempt.listAttemptedMessages", async () => {
  const l = await svix.messageAttempt.listAttemptedMessages(app.id, ep.id, { limit: 50 });
  check(l.data.length === 5, "attempted messages");
  field(l.data[0], "statusText", "EndpointMessageOut");
});
await step("messageAttempt.listAttemptedDestinations", async () => {
  const l = await svix.messageAttempt.listAttemptedDestinations(app.id, msgs[0].id);
  check(l.data.length === 2, "destinations");
  field(l.data[0], "statusText", "MessageEndpointOut");
});
await step("messageAttempt.get", async () => check((await svix.messageAttempt.get(app.id, attempt.msgId, attempt.id)).id === attempt.id, "get"));
await step("messageAttempt.expungeContent", async () => {
  const before = await svix.messageAttempt.get(app.id, attempt.msgId, attempt.id);
  check(before.response === `received ${pathMain}`, `response before: ${before.response}`);
  await svix.messageAttempt.expungeContent(app.id, attempt.msgId, attempt.id);
  check((await svix.messageAttempt.get(app.id, attempt.msgId, attempt.id)).response === "", "expunged response");
});
await step("messageAttempt.resend", async () => {
  const before = received(pathMain, msgs[1].id).length;
  await svix.messageAttempt.resend(app.id, msgs[1].id, ep.id);
  await waitFor("the resend", () => received(pathMain, msgs[1].id).length > before);
});
await step("message.expungeContent", async () => {
  await svix.message.expungeContent(app.id, msgs[3].id);
  check(JSON.stringify((await svix.message.get(app.id, msgs[3].id, { withContent: true })).payload) === "{}", "expunged payload");
});
if (v2) {
  await step("message.bulkExpungeContent", async () => {
    const out = await svix.message.bulkExpungeContent(app.id, { ids: [msgs[2].id, "msg_nope"] });
    check(out.results[msgs[2].id] === "expunged" && out.results.msg_nope === "not-found", JSON.stringify(out));
  });
}

// ---- endpoint tasks, send-example ---------------------------------------------

async function finished(taskId) {
  return waitFor(`task ${taskId}`, async () => {
    const t = await svix.backgroundTask.get(taskId);
    return t.status !== "running" ? t : undefined;
  });
}

const since = new Date(Date.now() - 3600 * 1000);
await step("endpoint.recover", async () => {
  answer.set(pathFail, 204);
  const out = await svix.endpoint.recover(app.id, epFail.id, { since });
  dateField(out, "updatedAt", "RecoverOut");
  const t = await finished(out.id);
  check(t.status === "finished" && t.data.recovered === 5, `recover task ${JSON.stringify(t)}`);
  dateField(t, "updatedAt", "BackgroundTaskOut");
  await waitFor("recovered deliveries", () => msgs.every((m) => received(pathFail, m.id).some((d) => d.verified)));
});
const epLate = await step("endpoint.create (after the messages)", () => newEndpoint(pathLate, { [typesField]: [etSignup] }));
await step("endpoint.replayMissing", async () => {
  const out = await svix.endpoint.replayMissing(app.id, epLate.id, { since });
  dateField(out, "updatedAt", "ReplayOut");
  const t = await finished(out.id);
  // msgs[2] and msgs[3] had their content expunged (2.x: bulk expunge).
  const want = msgs.length - (v2 ? 2 : 1);
  check(t.data.replayed === want, `replay task ${JSON.stringify(t)}, want ${want}`);
  await waitFor("replayed deliveries", () => received(pathLate).length >= want);
});
await step("endpoint.bulkReplay", async () => {
  const before = received(pathMain, msgs[0].id).length;
  const out = await svix.endpoint.bulkReplay(app.id, ep.id, { since, eventTypes: [etSignup], tag: "t0" });
  dateField(out, "updatedAt", "ReplayOut (bulk-replay)");
  const t = await finished(out.id);
  // Tagged t0: msgs[0] and msgs[2], whose content 2.x expunged.
  const want = v2 ? 1 : 2;
  check(t.task === "endpoint.bulk-replay" && t.status === "finished" && t.data.messagesSent === want, `bulk replay ${JSON.stringify(t)}, want ${want}`);
  await waitFor("the bulk replay", () => received(pathMain, msgs[0].id).length > before);
});
await step("endpoint.sendExample (its example)", async () => {
  const m = await svix.endpoint.sendExample(app.id, ep.id, { eventType: etSignup });
  check(m.payload.id === "u_1", "example payload");
  await waitFor("the example", () => received(pathMain, m.id).length === 1);
});
await step("endpoint.sendExample (made from its schema)", async () => {
  const m = await svix.endpoint.sendExample(app.id, ep.id, { eventType: etPaid });
  check(m.payload.amount === 1 && m.payload.currency === "EUR", `generated payload ${JSON.stringify(m.payload)}`);
  await waitFor("the generated example", () => received(pathMain, m.id).length === 1);
});

// ---- authentication -----------------------------------------------------------

let portal;
await step("authentication.appPortalAccess", async () => {
  const out = await svix.authentication.appPortalAccess(app.id, { expiry: 3600 });
  check(out.token && out.url, "token and url");
  portal = out.token;
  const asPortal = new Svix(portal, { serverUrl });
  check((await asPortal.endpoint.list(app.id)).data.length >= 3, "the portal token reads its app");
});
await step("authentication.appPortalAccess (capabilities)", async () => {
  const out = await svix.authentication.appPortalAccess(app.id, { expiry: 3600, capabilities: ["ViewBase", "ManageEndpoint"] });
  const editor = new Svix(out.token, { serverUrl });
  const made = await editor.endpoint.create(app.id, { url: "https://example.com/made-by-the-portal" });
  // ManageEndpoint reaches every field of an endpoint, its secret included.
  const { key } = await editor.endpoint.getSecret(app.id, made.id);
  check(key === (await svix.endpoint.getSecret(app.id, made.id)).key, "ManageEndpoint reads the endpoint's secret");
  await editor.endpoint.rotateSecret(app.id, made.id, {});
  check((await editor.endpoint.getSecret(app.id, made.id)).key !== key, "ManageEndpoint rotates the secret");
  const viewer = new Svix((await svix.authentication.appPortalAccess(app.id, { capabilities: ["ViewBase"] })).token, { serverUrl });
  check((await viewer.endpoint.list(app.id)).data.length >= 3, "ViewBase reads the endpoints");
  await viewer.endpoint.getSecret(app.id, made.id).then(() => check(false, "ViewBase read the secret"),
    (e) => check(e.code === 403, `ViewBase reading the secret answered ${e.code}`));
  await viewer.endpoint.create(app.id, { url: "https://example.com/not-made" }).then(() => check(false, "ViewBase created an endpoint"),
    (e) => check(e.code === 403, `ViewBase creating answered ${e.code}`));
  await editor.endpoint.delete(app.id, made.id);
  await svix.authentication.appPortalAccess(app.id, { capabilities: ["ManageEndpoint"] }).then(() => check(false, "a set without ViewBase was taken"),
    (e) => check(e.code === 422, `a set without ViewBase answered ${e.code}`));
});
if (!v2) {
  await step("authentication.dashboardAccess", async () => {
    const out = await svix.authentication.dashboardAccess(app.id);
    check(out.token && out.url, "token and url");
  });
}
await step("authentication.logout", async () => {
  const asPortal = new Svix(portal, { serverUrl });
  await asPortal.authentication.logout();
  await asPortal.application.get(app.id).then(() => check(false, "token still works"), (e) => check(e.code === 401, "401 after logout"));
});
await step("authentication.expireAll", async () => {
  const t = (await svix.authentication.appPortalAccess(app.id, {})).token;
  await svix.authentication.expireAll(app.id, {});
  await new Svix(t, { serverUrl }).application.get(app.id).then(() => check(false, "token still works"), (e) => check(e.code === 401, "401 after expire-all"));
});

// ---- background tasks, statistics, expunge-all ----------------------------------

await step("statistics.aggregateAppStats", async () => {
  const out = await svix.statistics.aggregateAppStats({ since, until: new Date(Date.now() + 60000), appIds: [app.id, "app_unknown"] });
  check(out.unresolvedAppIds.length === 1, JSON.stringify(out));
  dateField(out, "updatedAt", "AppUsageStatsOut");
  const t = await finished(out.id);
  const s = t.data.appStats.find((x) => x.appId === app.id);
  check(t.task === "application.stats" && s && s.messageDestinations > 0, JSON.stringify(t));
});
await step("statistics.aggregateEventTypes", async () => {
  const out = await svix.statistics.aggregateEventTypes();
  dateField(out, "updatedAt", "AggregateEventTypesOut");
  const t = await finished(out.id);
  const s = t.data.event_types.find((x) => x.appId === app.id);
  check(t.task === "event-type.aggregate" && s && s.hasCatchAllEndpoint === true && s.explicitlySubscribedEventTypes.includes(etPaid), JSON.stringify(t));
});
await step("backgroundTask.list", async () => {
  const l = await svix.backgroundTask.list({ limit: 50 });
  check(l.data.length >= 5, "tasks listed");
  const r = await svix.backgroundTask.list({ task: "endpoint.recover", status: "finished" });
  check(r.data.length === 1, "filtered");
});
if (!v2) {
  await step("backgroundTask.listByEndpoint", async () => check((await svix.backgroundTask.listByEndpoint({ limit: 50 })).data.length >= 5, "listed"));
}
await step("backgroundTask.get", async () => {
  const l = await svix.backgroundTask.list({ limit: 1 });
  check((await svix.backgroundTask.get(l.data[0].id)).id === l.data[0].id, "get");
});
await step("message.expungeAllContents", async () => {
  const other = await svix.application.create({ name: "expunge all" });
  await svix.message.create(other.id, { eventType: etSignup, payload: { secret: 1 } });
  const out = await svix.message.expungeAllContents(other.id);
  dateField(out, "updatedAt", "ExpungeAllContentsOut");
  const t = await finished(out.id);
  check(t.task === "application.purge_content" && t.data.messagesPurged === 1, JSON.stringify(t));
});

// ---- operational webhooks -----------------------------------------------------

const opApi = svix.operationalWebhook?.endpoint ?? svix.operationalWebhookEndpoint;
let opEp;
await step("operationalWebhook.endpoint.create", async () => {
  opEp = await opApi.create({ url: recvURL + pathOp, [typesField]: ["endpoint.created", "endpoint.updated", "endpoint.deleted"], metadata: { a: "b" } });
  secrets.set(pathOp, [(await opApi.getSecret(opEp.id)).key]);
});
await step("operationalWebhook.endpoint.list", async () => check((await opApi.list({ limit: 10 })).data.some((e) => e.id === opEp.id), "listed"));
await step("operationalWebhook.endpoint.get", async () => check((await opApi.get(opEp.id)).url === recvURL + pathOp, "get"));
await step(v2 ? "operationalWebhook.endpoint.upsert" : "operationalWebhook.endpoint.update", async () => {
  const fn = v2 ? opApi.upsert : opApi.update;
  const e = await fn.call(opApi, opEp.id, { url: recvURL + pathOp, description: "ops", [typesField]: ["endpoint.created", "endpoint.updated", "endpoint.deleted"] });
  check(e.description === "ops", "updated");
});
await step("operationalWebhook.endpoint.getSecret", async () => check((await opApi.getSecret(opEp.id)).key.startsWith("whsec_"), "secret"));
await step("operationalWebhook.endpoint.rotateSecret", async () => {
  await opApi.rotateSecret(opEp.id, {});
  secrets.get(pathOp).push((await opApi.getSecret(opEp.id)).key);
});
await step(v2 ? "operationalWebhook.endpoint.setHeaders" : "operationalWebhook.endpoint.updateHeaders", async () => {
  const fn = v2 ? opApi.setHeaders : opApi.updateHeaders;
  await fn.call(opApi, opEp.id, { headers: { "X-Ops": "1" } });
});
await step("operationalWebhook.endpoint.getHeaders", async () => check((await opApi.getHeaders(opEp.id)).headers["X-Ops"] === "1", "headers"));
await step("operational webhooks arrive with their headers, signed", async () => {
  const tmp = await svix.endpoint.create(app.id, { url: recvURL + "/tmp" });
  await svix.endpoint.delete(app.id, tmp.id);
  const got = await waitFor("endpoint.created and endpoint.deleted events", () => {
    const types = received(pathOp).map((d) => d.payload?.type);
    return types.includes("endpoint.created") && types.includes("endpoint.deleted") ? received(pathOp) : undefined;
  });
  check(got.every((d) => d.headers["x-ops"] === "1" || d.payload?.type !== "endpoint.deleted"), "X-Ops header sent");
});
await step("operationalWebhook.endpoint.delete", async () => {
  await opApi.delete(opEp.id);
  await opApi.get(opEp.id).then(() => check(false, "still there"), (e) => check(e.code === 404, "404"));
});
await step("endpoint.delete", async () => {
  await svix.endpoint.delete(app.id, epLate.id);
  await svix.endpoint.get(app.id, epLate.id).then(() => check(false, "still there"), (e) => check(e.code === 404, "404"));
});

// ---- calls hookrelay does not serve -----------------------------------------------

const hosted = "hosted-only: transformations run code on Svix's servers";
if (v2) {
  await notServed("endpoint.transformation.get", hosted, () => svix.endpoint.transformation.get(app.id, ep.id));
  await notServed("endpoint.transformation.patch", hosted, () => svix.endpoint.transformation.patch(app.id, ep.id, { enabled: false }));
  await notServed("message.poller.poll", "hosted-only: polling endpoints", () => svix.message.poller.poll(app.id, "poll_x"));
} else {
  await notServed("endpoint.transformationGet", hosted, () => svix.endpoint.transformationGet(app.id, ep.id));
  await notServed("endpoint.patchTransformation", hosted, () => svix.endpoint.patchTransformation(app.id, ep.id, { enabled: false }));
}
await notServed("endpoint.transformationPartialUpdate", hosted, () => svix.endpoint.transformationPartialUpdate(app.id, ep.id, { enabled: false }));
await notServed("authentication.streamPortalAccess", "hosted-only: streams", () => svix.authentication.streamPortalAccess("strm_x", {}));

// ---- every delivery verified ---------------------------------------------------

await step("every delivery's signature verifies (standardwebhooks)", async () => {
  await sleep(300);
  const bad = deliveries.filter((d) => !d.verified && secrets.has(d.path));
  check(deliveries.length > 20, `only ${deliveries.length} deliveries`);
  check(bad.length === 0, `${bad.length} of ${deliveries.length} deliveries did not verify: ${JSON.stringify(bad.slice(0, 3).map((d) => [d.path, d.id]))}`);
  console.log(`     ${deliveries.length} deliveries, all verified`);
});

receiver.close();
console.log(JSON.stringify({ sdk: sdkVersion, ok: results.ok, failed: results.failed, notServed: results.notServed }));
process.exit(results.failed.length ? 1 : 0);
