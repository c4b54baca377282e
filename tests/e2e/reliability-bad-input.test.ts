import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type LedgerView, ledgerOf } from "../reliability/support/ledger";
import { PRICED_ROUTES } from "../reliability/support/load";
import { E2E_SECRETS, e2e, topUp, uniqueUser, userToken } from "./support/context";

/**
 * Property-based bad input for every route of the app: tokens, headers, ids, amounts and
 * bodies drawn at random. Whatever arrives: never a 5xx, and a refusal never changes the
 * user's ledger (compared before/after, read straight from Redis). Runs are bounded so
 * the file stays within a few seconds per property.
 */

const ascii = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });
const b64url = (maxLength: number) => fc.string({ unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), maxLength });

interface Fixture {
  user: string;
  valid: string;
  /** A user with no tokens at all (the 402 path). */
  broke: string;
  brokeToken: string;
  other: string;
  expired: string;
  wrongAudience: string;
}
let fx: Fixture;

beforeAll(async () => {
  const user = uniqueUser("fuzz");
  await topUp(user, 100_000);
  const broke = uniqueUser("fuzz-broke");
  fx = {
    user,
    valid: await userToken(user),
    broke,
    brokeToken: await userToken(broke),
    other: await userToken(uniqueUser("fuzz-other")),
    expired: await userToken(user, { ttlSeconds: 60, now: () => Date.now() - 7_200_000 }),
    wrongAudience: await userToken(user, { audience: "elsewhere" }),
  };
});

/** Tokens: missing, junk, JWT-shaped junk, tampered, expired, foreign, valid. */
function tokenArb(): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    ascii(120),
    fc.tuple(b64url(60), b64url(200), b64url(60)).map(([a, b, c]) => `${a}.${b}.${c}`),
    fc.nat({ max: 400 }).map((i) => tamper(fx.valid, i)),
    fc.constantFrom(fx.expired, fx.wrongAudience, fx.other, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", fx.valid),
  );
}

function tamper(token: string, at: number): string {
  const i = at % token.length;
  const c = token[i] === "A" ? "B" : "A";
  return token.slice(0, i) + c + token.slice(i + 1);
}

/** The Authorization header, in forms both right and wrong. */
function authArb(): fc.Arbitrary<string | undefined> {
  return fc.tuple(tokenArb(), fc.constantFrom("Bearer ", "bearer ", "Bearer  ", "Basic ", "", "Bearer:", "BEARER\t")).map(([t, scheme]) =>
    t === undefined ? undefined : `${scheme}${t}`);
}

function headersArb(): fc.Arbitrary<Record<string, string>> {
  return fc.record({
    authorization: authArb(),
    "content-type": fc.oneof(fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1"), ascii(60)),
    "idempotency-key": fc.oneof(ascii(140), fc.uuid(), fc.constant('"quoted-key"')),
    cookie: fc.oneof(ascii(100), tokenArb().map((t) => `tollgate_session=${t ?? ""}`)),
  }, { requiredKeys: [] }).map((h) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = v;
    return out;
  });
}

/** JSON values that never ask the demo handler to fail on purpose (`fail: true` is a 500 by design). */
const jsonValue = fc.jsonValue({ maxDepth: 3 }).filter((v) => !JSON.stringify(v).includes('"fail"'));

function bodyArb(validBody: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.constant(validBody),
    jsonValue.map((v) => JSON.stringify(v)),
    ascii(300),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
    fc.record({ message: jsonValue, topic: jsonValue, goal: jsonValue, calories: jsonValue, daysPerWeek: jsonValue }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    fc.nat({ max: 40_000 }).map((n) => JSON.stringify({ message: "x".repeat(n) })),
  );
}

async function send(path: string, method: string, headers: Record<string, string>, body?: string): Promise<Response> {
  const hasBody = body !== undefined && method !== "GET" && method !== "HEAD";
  return fetch(`${e2e().appUrl}${path}`, { method, headers, body: hasBody ? body : undefined, redirect: "manual" });
}

async function restingLedger(user: string): Promise<LedgerView> {
  // Settlements of earlier paid requests land within ~100 ms; compare only ledgers at rest.
  for (let i = 0; i < 50; i++) {
    const view = await ledgerOf(user);
    if (view.ledger.openIds.length === 0) return view;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${user} did not come to rest`);
}

function fingerprint(view: LedgerView) {
  return { balance: view.ledger.balance, totals: view.ledger.totals, history: view.ledger.history.map((e) => e.id) };
}

const NO_5XX = (status: number) => expect(status, "never a 5xx").toBeLessThan(500);

/** Statuses each property saw: the properties must reach the deep paths, not only 401s. */
function tally() {
  const seen = new Map<number, number>();
  return {
    add: (status: number) => void seen.set(status, (seen.get(status) ?? 0) + 1),
    has: (status: number) => seen.has(status),
    toString: () => [...seen].sort((a, b) => a[0] - b[0]).map(([k, n]) => `${k}×${n}`).join(" "),
  };
}

interface GenRequest {
  method: string;
  suffix: string;
  headers: Record<string, string | undefined>;
  body: string | undefined;
}

/**
 * A valid request with up to three things broken, so the properties reach every layer
 * (gate, handler validation, paid and refused work), not just the 401 at the door.
 */
function mutatedRequest(validBody: string): fc.Arbitrary<GenRequest> {
  const mutation = fc.oneof(
    authArb().map((v) => (r: GenRequest) => void (r.headers.authorization = v)),
    fc.constant((r: GenRequest) => void (r.headers.authorization = `Bearer ${fx.brokeToken}`)),
    fc.oneof(fc.constantFrom("text/plain", "application/json; charset=latin1", "multipart/form-data"), ascii(60), fc.constant(undefined))
      .map((v) => (r: GenRequest) => void (r.headers["content-type"] = v)),
    bodyArb(validBody).map((v) => (r: GenRequest) => void (r.body = v)),
    fc.oneof(ascii(140), fc.uuid(), fc.constant('"quoted-key"')).map((v) => (r: GenRequest) => void (r.headers["idempotency-key"] = v)),
    fc.oneof(ascii(100), tokenArb().map((t) => `tollgate_session=${t ?? ""}`)).map((v) => (r: GenRequest) => void (r.headers.cookie = v)),
    fc.constantFrom("GET", "PUT", "DELETE", "PATCH").map((v) => (r: GenRequest) => void (r.method = v)),
    fc.constantFrom("/", "/x", "/../chat", "%2F").map((v) => (r: GenRequest) => void (r.suffix = v)),
  );
  return fc.array(mutation, { maxLength: 3 }).map((mutations) => {
    const r: GenRequest = {
      method: "POST", suffix: "", body: validBody,
      headers: { authorization: `Bearer ${fx.valid}`, "content-type": "application/json" },
    };
    for (const m of mutations) m(r);
    return r;
  });
}

function definedHeaders(h: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = v;
  return out;
}

describe("reliability: bad input on every route (property-based, next start)", () => {
  it("generation routes: no 5xx; a refusal never charges; a gate refusal changes nothing at all", async () => {
    const seen = tally();
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...PRICED_ROUTES).chain((route) => fc.tuple(fc.constant(route), mutatedRequest(route.body))),
      async ([route, req]) => {
        const before = await Promise.all([restingLedger(fx.user), restingLedger(fx.broke)]);
        const res = await send(route.path + req.suffix, req.method, definedHeaders(req.headers), req.body);
        const text = await res.text();
        seen.add(res.status);
        NO_5XX(res.status);
        const after = await Promise.all([restingLedger(fx.user), restingLedger(fx.broke)]);
        const replayed = res.headers.get("idempotent-replayed") === "true";
        const cost = res.headers.get("x-tokens-cost");
        if (res.status === 200 && !replayed) {
          // Paid: exactly the route's price, announced in the header, by the rich user.
          expect(Number(cost)).toBe(route.cost);
          expect(after[0].ledger.balance).toBe(before[0].ledger.balance - route.cost);
          expect(after[0].ledger.totals.debits - before[0].ledger.totals.debits).toBe(route.cost);
          expect(fingerprint(after[1])).toEqual(fingerprint(before[1]));
        } else {
          for (const i of [0, 1]) {
            expect(after[i]!.ledger.balance, `${res.status} ${text.slice(0, 200)}`).toBe(before[i]!.ledger.balance);
            // Refused by the gate (before any debit): not a single key of the ledger moved.
            // (A refusal by the handler after the debit leaves a debit and its refund.)
            if (cost === null || cost === "0") expect(fingerprint(after[i]!)).toEqual(fingerprint(before[i]!));
          }
        }
        expect(after[0].problems).toEqual([]);
        expect(after[1].problems).toEqual([]);
      },
    ), { numRuns: 100 });
    if (process.env.RELIABILITY_DEBUG) console.log(`generation routes: ${seen}`);
    // The runs reached the work (200), the 402 path, the handler's validation and the gate's refusals.
    for (const status of [200, 400, 401, 402]) expect(seen.has(status), `${status} in ${seen}`).toBe(true);
  });

  it("/api/me: no 5xx, 200 only with a valid credential, and reading changes nothing", async () => {
    const seen = tally();
    const headers = fc.oneof(headersArb(), mutatedRequest("").map((r) => definedHeaders(r.headers)));
    await fc.assert(fc.asyncProperty(headers, fc.constantFrom("GET", "GET", "POST", "DELETE", "HEAD"), async (h, method) => {
      const before = await restingLedger(fx.user);
      const res = await send("/api/me", method, h);
      await res.arrayBuffer();
      seen.add(res.status);
      NO_5XX(res.status);
      expect([200, 401, 405]).toContain(res.status);
      expect(fingerprint(await restingLedger(fx.user))).toEqual(fingerprint(before));
    }), { numRuns: 80 });
    if (process.env.RELIABILITY_DEBUG) console.log(`/api/me: ${seen}`);
    expect(seen.has(200) && seen.has(401), String(seen)).toBe(true);
  });

  it("admin top-ups: no 5xx; only an admin's valid amount moves a balance, by exactly that amount", async () => {
    const wildAmount = fc.oneof(
      fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }),
      fc.double(),
      fc.constantFrom(0, -1, 1e9, 1e9 + 1, 2 ** 53, 1.5, "100", true, null, [], {}),
      ascii(20),
    );
    type TopUp = { id: string; auth: string | undefined; contentType: string | undefined; key: string | undefined; body: Record<string, unknown> | string };
    const mutation = fc.oneof(
      fc.oneof(ascii(140), fc.constantFrom("..", "%2e%2e", "a/b", "{x}", "a".repeat(129), "")).map((v) => (r: TopUp) => void (r.id = v)),
      fc.oneof(authArb(), fc.constant(`Bearer ${fx.valid}`)).map((v) => (r: TopUp) => void (r.auth = v)),
      fc.oneof(ascii(40), fc.constantFrom("text/plain", undefined)).map((v) => (r: TopUp) => void (r.contentType = v)),
      fc.oneof(ascii(140), fc.uuid()).map((v) => (r: TopUp) => void (r.key = v)),
      wildAmount.map((v) => (r: TopUp) => void (typeof r.body === "object" && (r.body.amount = v))),
      fc.oneof(ascii(300), fc.integer(), fc.constant(null)).map((v) => (r: TopUp) => void (typeof r.body === "object" && (r.body.reason = v))),
      fc.constantFrom("balance", "userId", "amount2").map((k) => (r: TopUp) => void (typeof r.body === "object" && (r.body[k] = 1))),
      bodyArb("{}").map((v) => (r: TopUp) => void (r.body = v ?? "")),
    );
    const request = fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.array(mutation, { maxLength: 2 })).map(([amount, mutations]) => {
      const r: TopUp = { id: fx.user, auth: `Bearer ${E2E_SECRETS.admin}`, contentType: "application/json", key: undefined, body: { amount, reason: "top-up" } };
      for (const m of mutations) m(r);
      return r;
    });
    const seen = tally();
    await fc.assert(fc.asyncProperty(request, async (r) => {
      const tracked = r.id === fx.user;
      const payload = typeof r.body === "string" ? r.body : JSON.stringify(r.body);
      const headers = definedHeaders({ authorization: r.auth, "content-type": r.contentType, "idempotency-key": r.key });
      const before = await restingLedger(fx.user);
      const res = await send(`/api/admin/users/${encodeURIComponent(r.id)}/tokens`, "POST", headers, payload);
      const json = (await res.json().catch(() => null)) as { added?: number } | null;
      seen.add(res.status);
      NO_5XX(res.status);
      const after = await restingLedger(fx.user);
      if (tracked && res.status === 201) {
        const added = (r.body as { amount: number }).amount;
        expect(json?.added).toBe(added);
        expect(after.ledger.balance).toBe(before.ledger.balance + added);
      } else {
        expect(fingerprint(after)).toEqual(fingerprint(before));
      }
      expect(after.problems).toEqual([]);
    }), { numRuns: 120 });
    if (process.env.RELIABILITY_DEBUG) console.log(`admin top-ups: ${seen}`);
    for (const status of [201, 400, 401, 403]) expect(seen.has(status), `${status} in ${seen}`).toBe(true);
  });

  it("admin reads, refunds and resets: no 5xx; a refused refund changes nothing", async () => {
    // A real debit of the tracked user, and one of another user, to aim refunds at.
    const paid = await send("/api/chat", "POST", { authorization: `Bearer ${fx.valid}`, "content-type": "application/json" }, JSON.stringify({ message: "hi" }));
    const { debitId } = (await paid.json()) as { debitId: string };
    const otherUser = uniqueUser("fuzz-victim");
    await topUp(otherUser, 10);
    const foreign = await send("/api/chat", "POST", { authorization: `Bearer ${await userToken(otherUser)}`, "content-type": "application/json" }, JSON.stringify({ message: "hi" }));
    const { debitId: foreignDebit } = (await foreign.json()) as { debitId: string };
    let refunded = false;

    const auth = fc.oneof({ arbitrary: fc.constant(`Bearer ${E2E_SECRETS.admin}`), weight: 2 }, authArb());
    const seen = tally();
    const debit = fc.oneof({ arbitrary: fc.constant(debitId), weight: 3 }, fc.constantFrom(foreignDebit, "deb_00000000000000000000000000000000", ""), ascii(80), jsonValue);
    await fc.assert(fc.asyncProperty(
      fc.constantFrom("read", "refund", "reset"),
      fc.oneof({ arbitrary: fc.constant(fx.user), weight: 3 }, ascii(140), fc.constant(otherUser)),
      auth,
      debit,
      fc.constantFrom("GET", "POST", "PUT", "DELETE"),
      async (action, target, authorization, debitValue, method) => {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (authorization !== undefined) headers.authorization = authorization;
        const isAdmin = authorization === `Bearer ${E2E_SECRETS.admin}`;
        // Resetting the tracked user as an admin is a legitimate state change; aim elsewhere.
        if (action === "reset" && isAdmin && target === fx.user) target = `${fx.user}-not`;
        const path = `/api/admin/users/${encodeURIComponent(target)}${action === "read" ? "" : `/${action === "refund" ? "refunds" : "reset"}`}`;
        const before = await restingLedger(fx.user);
        const res = await send(path, action === "read" ? method : "POST", headers, JSON.stringify({ debitId: debitValue }));
        await res.arrayBuffer();
        seen.add(res.status);
        NO_5XX(res.status);
        const after = await restingLedger(fx.user);
        if (action === "refund" && res.status === 201 && target === fx.user) {
          expect(refunded).toBe(false);
          refunded = true;
          expect(after.ledger.balance).toBe(before.ledger.balance + 1);
        } else {
          expect(fingerprint(after)).toEqual(fingerprint(before));
        }
      },
    ), { numRuns: 120 });
    if (process.env.RELIABILITY_DEBUG) console.log(`admin reads/refunds/resets: ${seen}`);
    for (const status of [200, 201, 400, 401]) expect(seen.has(status), `${status} in ${seen}`).toBe(true);
  });

  it("the monthly cron: no 5xx, and nothing but the exact secret runs it", async () => {
    await fc.assert(fc.asyncProperty(authArb(), fc.constantFrom("GET", "POST"), async (authorization, method) => {
      const res = await send("/api/cron/monthly", method, authorization === undefined ? {} : { authorization });
      await res.arrayBuffer();
      NO_5XX(res.status);
      expect([401, 405]).toContain(res.status);
    }), { numRuns: 60 });
  });
});
