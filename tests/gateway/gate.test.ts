import { describe, expect, it } from "vitest";
import { createAuthConfig, createTokenVerifier, mintToken } from "../../lib/auth";
import { createGateSigner, GATE_HEADERS, type GatePass, passCost } from "../../lib/gateway/forwarded-headers";
import { createGate, type GateDecision } from "../../lib/gateway/gate";
import { createMeteredRoute } from "../../lib/gateway/metered-route";
import { PRICING } from "../../lib/gateway/pricing";
import { checkInvariants, createMetering, KvProtocolError, readLedger } from "../../lib/metering";
import { createDebitCoalescer } from "../../lib/metering/coalescer";
import { createKvClient } from "../../lib/kv-client";
import { kvTargets, manualClock, uniqueNamespace } from "../support/kv";

/** The fixed-price rows: a gate whose debit is faked here takes no holds (a usage row would need one). */
const FIXED_PRICING = PRICING.filter((row) => row.usage === undefined);

const SECRET = "gate-test-secret-0123456789abcdef0123456789";

async function setup(url: string, token: string, { coalesce = false, idempotencyInProgressMs = 900_000, clock = Date.now } = {}) {
  // A round-trip bound a slow, loaded machine cannot reach: these tests are about decisions, not latency.
  const metering = createMetering(createKvClient({ url, token, timeoutMs: 10_000 }), {
    namespace: uniqueNamespace("gate"), monthlyAllowance: 0, kvTimeoutMs: 10_000, healAfterMs: 50_000,
  });
  const signer = createGateSigner({ secret: SECRET, clock });
  const verify = createTokenVerifier(createAuthConfig({ secret: SECRET, production: true }));
  const options = {
    verify,
    debit: coalesce ? createDebitCoalescer(metering).debit : metering.debit,
    hold: metering.hold,
    pricing: PRICING, topUpUrl: "https://example.test/buy", monthlyAllowance: 100,
    secondsToPeriodEnd: () => 3600,
    idempotencyInProgressMs,
  };
  const gate = createGate({ ...options, signer });
  const inlineGate = createGate({ ...options, signer: null });
  const meteredRoute = (background: (task: Promise<unknown>) => void = () => undefined) => createMeteredRoute({
    signer, gate: inlineGate, tokenHeaders: options, pricing: PRICING, refund: (u, d, r) => metering.refund(u, d, r), storeResponse: metering.storeIdempotentResponse,
    settleHold: metering.settleHold, background,
  });
  return { metering, signer, gate, meteredRoute };
}

const bearer = async (sub: string, extra: { ttlSeconds?: number } = {}) =>
  `Bearer ${await mintToken({ sub, secret: SECRET, ttlSeconds: extra.ttlSeconds ?? 600 })}`;

function post(path: string, headers: Record<string, string>, body = "{}") {
  return new Request(`http://localhost${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

async function problemOf(decision: GateDecision) {
  if (decision.status !== "respond") throw new Error(`expected a refusal, got ${decision.status}`);
  return { status: decision.response.status, headers: decision.response.headers, body: (await decision.response.json()) as Record<string, unknown> };
}

describe.each(kvTargets())("the gate on the $engine engine", (target) => {
  it("charges the route's cost and forwards a signed pass with balance headers", async () => {
    const { metering, signer, gate } = await setup(target.url, target.token);
    await metering.credit({ userId: "ann", amount: 10, reason: "Top-up" });
    const decision = await gate(post("/api/generate/article", { authorization: await bearer("ann") }));
    if (decision.status !== "forward") throw new Error("refused");
    expect(decision.serverTiming).toMatch(/^auth;dur=[\d.]+, meter;dur=[\d.]+$/);
    expect(await signer.read(decision.requestHeaders)).toMatchObject({
      status: "valid", pass: { userId: "ann", cost: 3, routeId: "article", balance: 7, method: "POST", path: "/api/generate/article" },
    });
    await decision.afterResponse?.();
    expect((await readLedger(metering.context, "ann")).history[0]).toMatchObject({ type: "debit", amount: -3, route: "POST /api/generate/article" });
  });

  it("answers 402 with balance, cost and where to top up, exactly when the balance runs out", async () => {
    const { metering, gate } = await setup(target.url, target.token);
    await metering.credit({ userId: "ben", amount: 12, reason: "Top-up" });
    const auth = await bearer("ben");
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const d = await gate(post("/api/generate/nutrition-plan", { authorization: auth }));
      statuses.push(d.status === "forward" ? 200 : d.response.status);
    }
    expect(statuses).toEqual([200, 200, 402]);
    const refusal = await problemOf(await gate(post("/api/generate/nutrition-plan", { authorization: auth })));
    expect(refusal.headers.get("content-type")).toBe("application/problem+json");
    expect(refusal.body).toMatchObject({ status: 402, code: "insufficient_tokens", balance: 2, cost: 5, topUpUrl: "https://example.test/buy" });
    expect(refusal.headers.get("x-tokens-remaining")).toBe("2");
  });

  it.each([
    ["no credentials", {}, "token_missing"],
    ["a junk token", { authorization: "Bearer abc.def" }, "token_malformed"],
    ["a non-Bearer scheme", { authorization: "Basic dXNlcjpwYXNz" }, "token_missing"],
  ])("answers 401 for %s, and charges nothing", async (_label, headers, reason) => {
    const { metering, gate } = await setup(target.url, target.token);
    await metering.credit({ userId: "cat", amount: 5, reason: "Top-up" });
    const refusal = await problemOf(await gate(post("/api/chat", headers as Record<string, string>)));
    expect(refusal.status).toBe(401);
    expect(refusal.body).toMatchObject({ code: "unauthenticated" });
    if (reason !== "token_missing") expect(refusal.body.reason).toBe(reason);
    expect(refusal.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await readLedger(metering.context, "cat")).balance).toBe(5);
  });

  it("answers 401 token_expired for an expired token", async () => {
    const { gate } = await setup(target.url, target.token);
    const old = await mintToken({ sub: "dan", secret: SECRET, ttlSeconds: 60, now: () => Date.now() - 3_600_000 });
    const refusal = await problemOf(await gate(post("/api/chat", { authorization: `Bearer ${old}` })));
    expect(refusal.body).toMatchObject({ code: "unauthenticated", reason: "token_expired" });
    expect(refusal.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("refuses a cookie-authenticated request from another site, a sibling subdomain or another origin, or without JSON, before charging", async () => {
    const { metering, gate } = await setup(target.url, target.token);
    await metering.credit({ userId: "csr", amount: 10, reason: "Top-up" });
    const cookie = `tollgate_session=${(await bearer("csr")).slice("Bearer ".length)}`;
    const cases: [Record<string, string>, string, string, string][] = [
      [{ "sec-fetch-site": "cross-site" }, "application/json", "{}", "403 cross_origin_request"],
      [{ "sec-fetch-site": "same-site", origin: "http://blog.localhost" }, "application/json", "{}", "403 cross_origin_request"],
      [{ origin: "http://blog.localhost" }, "application/json", "{}", "403 cross_origin_request"],
      [{ origin: "http://localhost" }, "text/plain", "{}", "415 unsupported_media_type"],
      [{ origin: "http://localhost" }, "application/x-www-form-urlencoded", "topic=x", "415 unsupported_media_type"],
    ];
    for (const [headers, type, body, expected] of cases) {
      const refusal = await problemOf(await gate(post("/api/chat", { cookie, ...headers, "content-type": type }, body)));
      expect(`${refusal.status} ${String(refusal.body.code)}`).toBe(expected);
    }
    // The app's own page, and the same request with a Bearer token: charged and forwarded.
    const own = await gate(post("/api/chat", { cookie, origin: "http://localhost", "sec-fetch-site": "same-origin" }));
    expect(own.status).toBe("forward");
    // A Bearer header is the credential even beside the cookie, and no page elsewhere can set one.
    const scripted = await gate(post("/api/chat", { cookie, authorization: await bearer("csr"), "sec-fetch-site": "cross-site", "content-type": "text/plain" }));
    expect(scripted.status).toBe("forward");
    expect((await readLedger(metering.context, "csr")).balance).toBe(8);
  });

  it("refuses routes outside the pricing table instead of serving them free", async () => {
    const { gate } = await setup(target.url, target.token);
    const auth = await bearer("eve");
    expect((await problemOf(await gate(post("/api/generate/poem", { authorization: auth })))).status).toBe(404);
    const wrongMethod = await problemOf(await gate(new Request("http://localhost/api/generate/article", { headers: { authorization: auth } })));
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
  });

  it("strips identity headers sent by the client and signs its own", async () => {
    const { metering, signer, gate } = await setup(target.url, target.token);
    await metering.credit({ userId: "fin", amount: 5, reason: "Top-up" });
    const decision = await gate(post("/api/chat", {
      authorization: await bearer("fin"),
      [GATE_HEADERS.user]: "admin", [GATE_HEADERS.debit]: "deb_forged", "X-Tollgate-Cost": "0",
    }));
    if (decision.status !== "forward") throw new Error("refused");
    expect(decision.requestHeaders.get(GATE_HEADERS.user)).toBe("fin");
    expect(decision.requestHeaders.get(GATE_HEADERS.cost)).toBe("1");
    const forged = new Headers(decision.requestHeaders);
    forged.set(GATE_HEADERS.user, "gil");
    expect(await signer.read(forged)).toEqual({ status: "invalid" });
  });

  it("does not charge a retry with the same Idempotency-Key and replays the stored answer", async () => {
    const { metering, gate, meteredRoute } = await setup(target.url, target.token);
    await metering.credit({ userId: "gus", amount: 10, reason: "Top-up" });
    const auth = await bearer("gus");
    const route = meteredRoute()(async () => Response.json({ answer: 42 }));
    const first = await gate(post("/api/generate/article", { authorization: auth, "idempotency-key": '"req-1"' }));
    if (first.status !== "forward") throw new Error("refused");
    const served = await route(new Request("http://localhost/api/generate/article", { method: "POST", headers: first.requestHeaders }));
    expect(await served.json()).toEqual({ answer: 42 });
    await expect.poll(async () => {
      const replay = await gate(post("/api/generate/article", { authorization: auth, "idempotency-key": "req-1" }));
      return replay.status === "respond" ? replay.response.headers.get("idempotent-replayed") : "forwarded";
    }).toBe("true");
    await expect.poll(async () => (await readLedger(metering.context, "gus")).balance).toBe(7);
  });

  // Item 4: a key was scoped to the user only, so reusing it on another route replayed
  // the earlier route's answer.
  it("scopes an Idempotency-Key to its request: another route or body answers 422 and charges nothing", async () => {
    const { metering, gate, meteredRoute } = await setup(target.url, target.token);
    await metering.credit({ userId: "gia", amount: 10, reason: "Top-up" });
    const auth = await bearer("gia");
    const key = { authorization: auth, "idempotency-key": '"once"' };
    const route = meteredRoute()(async (request) => Response.json({ echo: await request.json() }));
    const first = await gate(post("/api/generate/article", key, '{"topic":"tea"}'));
    if (first.status !== "forward") throw new Error("refused");
    await first.afterResponse?.();
    expect((await route(new Request("http://localhost/api/generate/article", { method: "POST", headers: first.requestHeaders, body: '{"topic":"tea"}' }))).status).toBe(200);

    for (const [path, body, mismatch] of [["/api/chat", '{"topic":"tea"}', "another route"], ["/api/generate/article", '{"topic":"rye"}', "another request body"]]) {
      const reused = await problemOf(await gate(post(path!, key, body)));
      expect(reused.status).toBe(422);
      expect(reused.body).toMatchObject({ code: "idempotency_key_reused" });
      expect(reused.body.detail).toContain(mismatch);
    }
    await expect.poll(async () => {
      const replay = await gate(post("/api/generate/article", key, '{"topic":"tea"}'));
      return replay.status === "respond" ? [replay.response.headers.get("idempotent-replayed"), await replay.response.json()] : "forwarded";
    }).toEqual(["true", { echo: { topic: "tea" } }]);
    await expect.poll(async () => (await readLedger(metering.context, "gia")).balance).toBe(7);
    const ledger = await readLedger(metering.context, "gia");
    expect(ledger.openIds).toEqual([]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("inside the handler, reads the body for the fingerprint from a clone: the handler gets it intact", async () => {
    const { metering, meteredRoute } = await setup(target.url, target.token);
    await metering.credit({ userId: "gil", amount: 10, reason: "Top-up" });
    const route = meteredRoute()(async (request) => Response.json({ echo: await request.text() }));
    const key = { authorization: await bearer("gil"), "idempotency-key": "in-handler" };
    const served = await route(post("/api/generate/article", key, '{"topic":"oats"}'));
    expect(await served.json()).toEqual({ echo: '{"topic":"oats"}' });
    expect((await route(post("/api/generate/article", key, '{"topic":"rice"}'))).status).toBe(422);
    const huge = await route(post("/api/generate/article", { ...key, "idempotency-key": "huge" }, "x".repeat(1024 * 1024 + 1)));
    expect(huge.status).toBe(413);
    await expect.poll(async () => (await readLedger(metering.context, "gil")).balance).toBe(7);
  });

  // Issue 9, bug 5: a key whose answer could not be kept answered "in progress" for 24 h.
  it("ends every Idempotency-Key in a state a retry can use: replayed, in progress, or answer not kept", async () => {
    const { metering, gate } = await setup(target.url, target.token, { idempotencyInProgressMs: 300 });
    await metering.credit({ userId: "hal", amount: 20, reason: "Top-up" });
    const auth = await bearer("hal");
    const retry = async (key: string) => {
      const d = await gate(post("/api/generate/article", { authorization: auth, "idempotency-key": key }));
      if (d.status !== "respond") throw new Error("a retry was forwarded (and charged)");
      return { status: d.response.status, retryAfter: d.response.headers.get("retry-after"), body: (await d.response.json()) as { code?: string } };
    };
    // An answer too large to keep: once its marker is stored, the very next retry learns it.
    // A gate whose in-progress window is 15 min: only the marker can answer this.
    const patient = await setup(target.url, target.token);
    await patient.metering.credit({ userId: "hal", amount: 20, reason: "Top-up" });
    const stored: Promise<unknown>[] = [];
    const big = patient.meteredRoute((task) => stored.push(task))(async () => Response.json({ text: "x".repeat(70 * 1024) }));
    const first = await patient.gate(post("/api/generate/article", { authorization: auth, "idempotency-key": "big-1" }));
    if (first.status !== "forward") throw new Error("refused");
    expect((await big(new Request("http://localhost/api/generate/article", { method: "POST", headers: first.requestHeaders }))).status).toBe(200);
    await Promise.all(stored);
    const again = await patient.gate(post("/api/generate/article", { authorization: auth, "idempotency-key": "big-1" }));
    if (again.status !== "respond") throw new Error("a retry was forwarded (and charged)");
    expect(again.response.status).toBe(409);
    expect(await again.response.json()).toMatchObject({ code: "idempotent_response_unavailable" });
    await first.afterResponse?.();

    // An answer never stored (the instance died, or the KV was away when it finished):
    // "in progress" while the request may still run, then a terminal answer.
    const lost = await gate(post("/api/generate/article", { authorization: auth, "idempotency-key": "lost-1" }));
    if (lost.status !== "forward") throw new Error("refused");
    expect(await retry("lost-1")).toMatchObject({ status: 409, retryAfter: "1", body: { code: "idempotency_key_in_use" } });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await retry("lost-1")).toMatchObject({ status: 409, body: { code: "idempotent_response_unavailable" } });
    await lost.afterResponse?.();
    await expect.poll(async () => (await readLedger(metering.context, "hal")).balance).toBe(17);
  });

  it("refunds automatically when the handler fails; forged or absent passes never reach the work", async () => {
    const { metering, gate, meteredRoute } = await setup(target.url, target.token);
    await metering.credit({ userId: "hux", amount: 10, reason: "Top-up" });
    let ran = 0;
    const route = meteredRoute()(async () => {
      ran++;
      throw new Error("model timed out");
    });
    const decision = await gate(post("/api/generate/workout-plan", { authorization: await bearer("hux") }));
    if (decision.status !== "forward") throw new Error("refused");
    const failed = await route(new Request("http://localhost/api/generate/workout-plan", { method: "POST", headers: decision.requestHeaders }));
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({ code: "generation_failed", refunded: true });
    expect(failed.headers.get("x-tokens-remaining")).toBe("10");
    // No pass and no credentials: the gate inside the handler refuses it.
    const direct = await route(post("/api/generate/workout-plan", { [GATE_HEADERS.user]: "hux" }));
    expect(direct.status).toBe(401);
    // A pass that does not verify: refused, not gated again (that could charge twice).
    const forged = new Headers(decision.requestHeaders);
    forged.set(GATE_HEADERS.cost, "0");
    const forgedAnswer = await route(new Request("http://localhost/api/generate/workout-plan", { method: "POST", headers: forged }));
    expect(forgedAnswer.status).toBe(403);
    expect(await forgedAnswer.json()).toMatchObject({ code: "gate_pass_invalid" });
    expect(ran).toBe(1);
    await decision.afterResponse?.();
    const ledger = await readLedger(metering.context, "hux");
    expect(ledger.balance).toBe(10);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("gives back the tokens of a genuine pass that arrives at another route, and never acts on a forged one", async () => {
    const { metering, gate, meteredRoute } = await setup(target.url, target.token);
    await metering.credit({ userId: "jon", amount: 10, reason: "Top-up" });
    let ran = 0;
    const nutrition = meteredRoute()(async () => {
      ran++;
      return Response.json({ plan: "soup" });
    });
    const paidForArticle = await gate(post("/api/generate/article", { authorization: await bearer("jon") }));
    if (paidForArticle.status !== "forward") throw new Error("refused");
    const misrouted = await nutrition(new Request("http://localhost/api/generate/nutrition-plan", { method: "POST", headers: paidForArticle.requestHeaders }));
    expect(misrouted.status).toBe(403);
    expect(await misrouted.json()).toMatchObject({ code: "gate_pass_wrong_route", refunded: true });
    expect(misrouted.headers.get("x-tokens-remaining")).toBe("10");
    await paidForArticle.afterResponse?.();

    // Another user's paid pass, its signature broken: refused, and its debit is NOT refunded.
    await metering.credit({ userId: "kim", amount: 10, reason: "Top-up" });
    const kims = await gate(post("/api/generate/nutrition-plan", { authorization: await bearer("kim") }));
    if (kims.status !== "forward") throw new Error("refused");
    await kims.afterResponse?.();
    const forged = new Headers(kims.requestHeaders);
    forged.set(GATE_HEADERS.route, "article");
    expect((await nutrition(new Request("http://localhost/api/generate/nutrition-plan", { method: "POST", headers: forged }))).status).toBe(403);
    expect(ran).toBe(0);
    expect((await readLedger(metering.context, "kim")).balance).toBe(5);
    const jon = await readLedger(metering.context, "jon");
    expect(jon.balance).toBe(10);
    expect(checkInvariants(jon, { historyComplete: true })).toEqual([]);
  });

  // Item 5: a pass had no expiry, was keyed with the JWT secret itself, and named no key.
  it("refuses a pass older than a minute (plus 5 s of skew) with 403 gate_pass_expired, and gives its tokens back", async () => {
    const clock = manualClock("2026-11-26T12:00:00Z");
    const { metering, gate, meteredRoute } = await setup(target.url, target.token, { clock: clock.now });
    await metering.credit({ userId: "lea", amount: 10, reason: "Top-up" });
    let ran = 0;
    const route = meteredRoute()(async () => {
      ran++;
      return Response.json({ done: true });
    });
    const auth = await bearer("lea");
    const fresh = await gate(post("/api/generate/article", { authorization: auth }));
    const stale = await gate(post("/api/generate/article", { authorization: auth }));
    if (fresh.status !== "forward" || stale.status !== "forward") throw new Error("refused");
    expect(Number(fresh.requestHeaders.get(GATE_HEADERS.expires))).toBe(clock.now() + 60_000);
    await Promise.all([fresh.afterResponse?.(), stale.afterResponse?.()]);
    const arrive = (d: typeof fresh) => route(new Request("http://localhost/api/generate/article", { method: "POST", headers: d.requestHeaders }));

    clock.advance(65_000); // the expiry plus the whole tolerance: still good
    expect((await arrive(fresh)).status).toBe(200);
    clock.advance(1);
    const expired = await arrive(stale);
    expect(expired.status).toBe(403);
    expect(await expired.json()).toMatchObject({ code: "gate_pass_expired", refunded: true });
    expect(expired.headers.get("x-tokens-remaining")).toBe("7");
    expect(ran).toBe(1);
    // An expired pass that does not verify is refused as invalid: its ids are never acted on.
    const forged = new Headers(stale.requestHeaders);
    forged.set(GATE_HEADERS.expires, String(clock.now() + 60_000));
    expect(await (await arrive({ ...stale, requestHeaders: forged })).json()).toMatchObject({ code: "gate_pass_invalid" });
    const ledger = await readLedger(metering.context, "lea");
    expect(ledger.balance).toBe(7);
    expect(ledger.history.find((e) => e.type === "refund")?.reason).toBe("Refund: article not served (gate_pass_expired)");
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("binds a pass to the method and path the gate metered", async () => {
    const { metering, gate, signer, meteredRoute } = await setup(target.url, target.token);
    await metering.credit({ userId: "max", amount: 10, reason: "Top-up" });
    const route = meteredRoute()(async () => Response.json({ done: true }));
    const paid = await gate(post("/api/chat", { authorization: await bearer("max") }));
    if (paid.status !== "forward") throw new Error("refused");
    await paid.afterResponse?.();
    for (const [name, value] of [[GATE_HEADERS.method, "PUT"], [GATE_HEADERS.path, "/api/chat/x"]] as const) {
      const moved = new Headers(paid.requestHeaders);
      moved.set(name, value);
      expect(await signer.read(moved)).toEqual({ status: "invalid" });
    }
    // The same pass at the route's path with a trailing slash: priced as the same route, but
    // not the path the gate signed.
    const slashed = await route(new Request("http://localhost/api/chat/", { method: "POST", headers: paid.requestHeaders }));
    expect(await slashed.json()).toMatchObject({ code: "gate_pass_wrong_route", refunded: true });
    expect((await readLedger(metering.context, "max")).balance).toBe(10);
  });

  it("shows the balance after a refund: a gate in front passes on no balance header of its own", async () => {
    const { metering, gate, meteredRoute } = await setup(target.url, target.token);
    await metering.credit({ userId: "ivo", amount: 10, reason: "Top-up" });
    const route = meteredRoute()(async (request) => {
      const body = (await request.json()) as { ok?: boolean };
      return body.ok ? Response.json({ done: true }) : Response.json({ error: "bad input" }, { status: 400 });
    });
    const served = await gate(post("/api/generate/article", { authorization: await bearer("ivo") }, '{"ok":true}'));
    if (served.status !== "forward") throw new Error("refused");
    const ok = await route(new Request("http://localhost/api/generate/article", { method: "POST", headers: served.requestHeaders, body: '{"ok":true}' }));
    expect([ok.status, ok.headers.get("x-tokens-cost"), ok.headers.get("x-tokens-remaining")]).toEqual([200, "3", "7"]);
    expect(ok.headers.get("ratelimit")).toBe('"tokens";r=7;t=3600');

    const refused = await gate(post("/api/generate/article", { authorization: await bearer("ivo") }, "{}"));
    if (refused.status !== "forward") throw new Error("refused");
    const bad = await route(new Request("http://localhost/api/generate/article", { method: "POST", headers: refused.requestHeaders, body: "{}" }));
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-tokens-refunded")).toBe("3");
    expect(bad.headers.get("x-tokens-remaining")).toBe("7");
    expect(bad.headers.get("ratelimit")).toBe('"tokens";r=7;t=3600');
    await Promise.all([served.afterResponse?.(), refused.afterResponse?.()]);
  });

  it("gates a route left out of the middleware inside its handler: same charge, headers and refusals", async () => {
    const { metering, meteredRoute } = await setup(target.url, target.token);
    await metering.credit({ userId: "ida", amount: 4, reason: "Top-up" });
    const settled: Promise<unknown>[] = [];
    let ran = 0;
    const route = meteredRoute((task) => settled.push(task))(async (_request, pass) => {
      ran++;
      return Response.json({ user: pass.userId, charged: passCost(pass) });
    });
    const auth = await bearer("ida");
    const served = await route(post("/api/generate/article", { authorization: auth, [GATE_HEADERS.user]: "admin" }));
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual({ user: "ida", charged: 3 });
    expect(served.headers.get("x-tokens-cost")).toBe("3");
    expect(served.headers.get("x-tokens-remaining")).toBe("1");
    expect(served.headers.get("ratelimit")).toBe('"tokens";r=1;t=3600');
    const refused = await route(post("/api/generate/article", { authorization: auth }));
    expect(refused.status).toBe(402);
    expect(await refused.json()).toMatchObject({ code: "insufficient_tokens", balance: 1, cost: 3 });
    expect((await route(post("/api/generate/article", {}))).status).toBe(401);
    expect(ran).toBe(1);
    await Promise.all(settled);
    const ledger = await readLedger(metering.context, "ida");
    expect(ledger.balance).toBe(1);
    expect(ledger.history[0]).toMatchObject({ type: "debit", amount: -3, route: "POST /api/generate/article" });
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("with coalescing, concurrent requests on one balance never overdraw it", async () => {
    const { metering, gate } = await setup(target.url, target.token, { coalesce: true });
    await metering.credit({ userId: "ivy", amount: 50, reason: "Top-up" });
    const auth = await bearer("ivy");
    const decisions = await Promise.all(Array.from({ length: 80 }, () => gate(post("/api/chat", { authorization: auth }))));
    const forwarded = decisions.filter((d) => d.status === "forward");
    await Promise.all(forwarded.map((d) => (d.status === "forward" ? d.afterResponse?.() : undefined)));
    expect(forwarded.length).toBeLessThanOrEqual(50);
    expect(forwarded.length).toBeGreaterThanOrEqual(40);
    const ledger = await readLedger(metering.context, "ivy");
    expect(ledger.balance).toBe(50 - forwarded.length);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });
});

describe("the gate when the KV store is unreachable", () => {
  async function unreachable(failOpen: boolean) {
    // Port 1 on loopback: connection refused at once, as when the store is down.
    const metering = createMetering(createKvClient({ url: "http://127.0.0.1:1", token: "x", timeoutMs: 500 }), {
      namespace: uniqueNamespace("down"), monthlyAllowance: 0, kvTimeoutMs: 500, healAfterMs: 5000,
    });
    const logged: string[] = [];
    const gate = createGate({
      verify: createTokenVerifier(createAuthConfig({ secret: SECRET, production: true })),
      debit: metering.debit,
      hold: metering.hold,
      pricing: PRICING.map((r) => (r.id === "chat" && r.usage === undefined ? { ...r, failOpen } : r)),
      signer: createGateSigner({ secret: SECRET }), topUpUrl: "/", monthlyAllowance: 0, secondsToPeriodEnd: () => 1,
      log: (event) => logged.push(event),
    });
    return { gate, logged };
  }

  it("fails closed: 503 with Retry-After, nothing forwarded", async () => {
    const { gate } = await unreachable(false);
    const refusal = await problemOf(await gate(post("/api/chat", { authorization: await bearer("jay") })));
    expect(refusal.status).toBe(503);
    expect(refusal.headers.get("retry-after")).toBe("1");
    expect(refusal.body).toMatchObject({ code: "metering_unavailable" });
  });

  it("serves a route configured fail-open, unpaid, and logs it", async () => {
    const { gate, logged } = await unreachable(true);
    const decision = await gate(post("/api/chat", { authorization: await bearer("jay") }));
    expect(decision.status).toBe("forward");
    if (decision.status === "forward") expect(decision.pass).toEqual({ status: "unpaid", userId: "jay", routeId: "chat", idempotencyKey: null, method: "POST", path: "/api/chat" });
    expect(logged).toEqual(["gate.fail_open"]);
    // Only that route: the others still fail closed.
    expect((await problemOf(await gate(post("/api/generate/article", { authorization: await bearer("jay") })))).status).toBe(503);
  });
});

describe("the pass signer", () => {
  const OTHER = "gate-test-next-secret-0123456789abcdef01234";
  const pass: GatePass = {
    status: "paid", userId: "ned", debitId: `deb_${"1".repeat(32)}`, cost: 3, routeId: "article", balance: 7, idempotencyKey: null,
    method: "POST", path: "/api/generate/article",
  };

  it("carries an unpaid pass (a fail-open route served without the store) as unpaid: no debit, no cost, no balance", async () => {
    const signer = createGateSigner({ secret: SECRET });
    const headers = new Headers();
    const unpaid: GatePass = { status: "unpaid", userId: "ned", routeId: "chat", idempotencyKey: null, method: "POST", path: "/api/chat" };
    await signer.write(headers, unpaid);
    expect(await signer.read(headers)).toEqual({ status: "valid", pass: unpaid });
    expect(passCost(unpaid)).toBe(0);
  });

  it("derives its key from the secret with a purpose label: a MAC keyed with the secret itself does not verify", async () => {
    const signer = createGateSigner({ secret: SECRET });
    const headers = new Headers();
    await signer.write(headers, pass);
    expect(await signer.read(headers)).toEqual({ status: "valid", pass });
    const kid = headers.get(GATE_HEADERS.kid)!;
    expect(kid).toMatch(/^[A-Za-z0-9_-]{12}$/);
    const canonical = ["tollgate-pass-v2", kid, pass.method, pass.path, headers.get(GATE_HEADERS.expires), pass.userId, pass.debitId,
      pass.cost, pass.routeId, pass.balance, ""].join("\n");
    const raw = await crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", raw, new TextEncoder().encode(canonical)));
    headers.set(GATE_HEADERS.signature, btoa(String.fromCharCode(...mac)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, ""));
    expect(await signer.read(headers)).toEqual({ status: "invalid" });
  });

  it("accepts a pass signed with the previous secret while it is configured, by its kid, and only then", async () => {
    const before = createGateSigner({ secret: SECRET });
    const rotated = createGateSigner({ secret: OTHER, previousSecrets: [SECRET] });
    const after = createGateSigner({ secret: OTHER });
    const inFlight = new Headers();
    await before.write(inFlight, pass);
    const fresh = new Headers();
    await rotated.write(fresh, pass);
    expect(fresh.get(GATE_HEADERS.kid)).not.toBe(inFlight.get(GATE_HEADERS.kid));
    expect(await rotated.read(inFlight)).toEqual({ status: "valid", pass });
    expect(await rotated.read(fresh)).toEqual({ status: "valid", pass });
    expect(await after.read(inFlight)).toEqual({ status: "invalid" });
    expect(await before.read(fresh)).toEqual({ status: "invalid" });
    // A pass naming one key but signed with the other is refused.
    const swapped = new Headers(inFlight);
    swapped.set(GATE_HEADERS.kid, fresh.get(GATE_HEADERS.kid)!);
    expect(await rotated.read(swapped)).toEqual({ status: "invalid" });
  });

  it("refuses bad options at construction", () => {
    expect(() => createGateSigner({ secret: "short" })).toThrow(TypeError);
    expect(() => createGateSigner({ secret: SECRET, previousSecrets: ["short"] })).toThrow(TypeError);
    expect(() => createGateSigner({ secret: SECRET, ttlMs: 0 })).toThrow(TypeError);
  });
});

describe("the gate refuses a forged cookie write before it verifies the cookie", () => {
  it.each([
    ["a garbage cookie", "tollgate_session=not-a-jwt"],
    ["an expired-looking cookie", `tollgate_session=${"e".repeat(40)}.${"f".repeat(40)}.${"g".repeat(43)}`],
  ])("%s from another site is a 403, and a form body a 415, whoever's cookie it is (never a 401)", async (_label, cookie) => {
    let verified = 0;
    const gate = createGate({
      verify: async () => {
        verified++;
        return { status: "refused", code: "token_malformed", message: "x" };
      },
      debit: async () => {
        throw new Error("must not be reached");
      },
      pricing: FIXED_PRICING, signer: createGateSigner({ secret: SECRET }), topUpUrl: "/", monthlyAllowance: 0, secondsToPeriodEnd: () => 1,
    });
    expect((await problemOf(await gate(post("/api/chat", { cookie, "sec-fetch-site": "cross-site" })))).body).toMatchObject({ code: "cross_origin_request" });
    expect((await problemOf(await gate(post("/api/chat", { cookie, "content-type": "text/plain" })))).body).toMatchObject({ code: "unsupported_media_type" });
    expect(verified).toBe(0);
  });
});

describe("the gate in development: foreign Hosts (DNS rebinding)", () => {
  it("refuses a request addressed to another name with 421 before verifying or charging anything", async () => {
    let debits = 0;
    let verified = 0;
    const real = createTokenVerifier(createAuthConfig({ secret: SECRET, production: false }));
    const gate = createGate({
      verify: (token) => {
        verified++;
        return real(token);
      },
      debit: async () => {
        debits++;
        throw new Error("must not be reached");
      },
      pricing: FIXED_PRICING, signer: createGateSigner({ secret: SECRET }), topUpUrl: "/", monthlyAllowance: 0, secondsToPeriodEnd: () => 1,
      allowedHosts: ["localhost", "127.0.0.1", "[::1]"],
    });
    const rebound = post("/api/generate/article", { authorization: await bearer("rita"), host: "evil.example:3000" });
    const refusal = await problemOf(await gate(rebound));
    expect(refusal.status).toBe(421);
    expect(refusal.body).toMatchObject({ code: "host_not_allowed" });
    expect([verified, debits]).toEqual([0, 0]);
    // Its own name goes on to authentication (here: no credential, 401).
    expect((await problemOf(await gate(post("/api/generate/article", { host: "localhost:3000" })))).status).toBe(401);
  });
});

describe("the gate when the store answers an error", () => {
  it("answers 500 and still hands over the debit's pending work (its void), never losing it to a throw", async () => {
    const voided = Promise.resolve();
    const gate = createGate({
      verify: createTokenVerifier(createAuthConfig({ secret: SECRET, production: true })),
      debit: async (request) => ({ status: "unavailable", error: new KvProtocolError("ERR wrong type"), userId: request.userId, cost: request.cost, pending: voided }),
      pricing: FIXED_PRICING, signer: createGateSigner({ secret: SECRET }), topUpUrl: "/", monthlyAllowance: 0, secondsToPeriodEnd: () => 1,
    });
    const decision = await gate(post("/api/generate/article", { authorization: await bearer("zoe") }));
    expect(decision.pending).toBe(voided);
    const refusal = await problemOf(decision);
    expect(refusal.status).toBe(500);
    expect(refusal.body).toMatchObject({ code: "internal_error" });
  });
});
