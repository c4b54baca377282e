/**
 * Headers the gate sets on a request it lets through: the pass. The route handler trusts
 * them only because (1) the gate deletes any of them a client sent, and (2) they carry an
 * HMAC the handler checks, so a route reached without the gate (a matcher mistake, a
 * direct call to an internal URL) refuses to work rather than trusting a forged user id.
 *
 * The MAC covers the request the gate metered (method and path) and an expiry, so a pass
 * is good for one route and one minute, not forever. Its key is not the secret itself
 * but derived from it for this one purpose (HKDF-SHA256), so the JWT secret it defaults to
 * never keys two protocols; and it is named by an id (kid) derived the same way, so a
 * handler can hold the previous secret too and accept passes signed with it while a new
 * secret rolls out.
 */
export const GATE_HEADERS = {
  user: "x-tollgate-user",
  debit: "x-tollgate-debit",
  cost: "x-tollgate-cost",
  route: "x-tollgate-route",
  balance: "x-tollgate-balance",
  idempotencyKey: "x-tollgate-idempotency-key",
  /** A held pass only: `<requested>:<at>:<deadline>` (see `toWire`). */
  hold: "x-tollgate-hold",
  method: "x-tollgate-method",
  path: "x-tollgate-path",
  expires: "x-tollgate-expires",
  kid: "x-tollgate-kid",
  signature: "x-tollgate-signature",
} as const;

interface PassRequest {
  userId: string;
  routeId: string;
  idempotencyKey: string | null;
  /** The request the gate metered: the handler refuses the pass on any other. */
  method: string;
  path: string;
}

/**
 * What the gate hands the handler: a paid request (its debit, what it cost, the balance
 * after it); a held one, for a usage-priced route (the hold the handler must settle with
 * what the work used: what is held, what was asked, the balance after the hold, when it
 * was taken and the metering-clock deadline after which a healer finishes it: with the
 * route, the hold's ticket, so the handler settles without reading the hold back); or, for a route configured
 * fail-open while the store was away, an unpaid one (no debit: nothing to refund, no
 * balance to show).
 */
export type GatePass =
  | (PassRequest & { status: "paid"; debitId: string; cost: number; balance: number })
  | (PassRequest & { status: "held"; holdId: string; held: number; requested: number; balance: number; at: number; deadline: number })
  | (PassRequest & { status: "unpaid" });

/** Tokens the pass paid: what a refund gives back. A hold is settled, never refunded: 0. */
export function passCost(pass: GatePass): number {
  return pass.status === "paid" ? pass.cost : 0;
}

/**
 * The wire form of the pass (unchanged since v2, so passes in flight during a deploy still
 * verify): an unpaid pass is the debit id "unpaid" with cost 0 and balance -1; a held pass
 * is its hold id as the debit, what is held as the cost, and one more field, `hold`
 * (`<requested>:<at>:<deadline>`), signed only when present, so a v2 pass's MAC is what it was.
 * Dropping or adding `hold` changes what is signed: a paid pass cannot be turned into a
 * held one or back. Only `toWire` and `fromWire` know this.
 */
interface WirePass extends PassRequest {
  debitId: string;
  cost: number;
  balance: number;
  hold: string | null;
}

const UNPAID_DEBIT = "unpaid";

function toWire(pass: GatePass): WirePass {
  switch (pass.status) {
    case "paid": return { ...pass, hold: null };
    case "unpaid": return { ...pass, debitId: UNPAID_DEBIT, cost: 0, balance: -1, hold: null };
    case "held": {
      const { holdId, held, requested, at, deadline, status: _status, ...rest } = pass;
      return { ...rest, debitId: holdId, cost: held, hold: `${requested}:${at}:${deadline}` };
    }
  }
}

function fromWire(wire: WirePass): GatePass | null {
  const { debitId, cost, balance, hold, ...request } = wire;
  if (hold !== null) {
    const match = /^(\d{1,16}):(\d{1,16}):(\d{1,16})$/.exec(hold);
    const [requested, at, deadline] = [1, 2, 3].map((i) => Number(match?.[i]));
    if (match === null || ![requested, at, deadline].every(Number.isSafeInteger)) return null;
    return { status: "held", ...request, holdId: debitId, held: cost, requested: requested!, balance, at: at!, deadline: deadline! };
  }
  return debitId === UNPAID_DEBIT ? { status: "unpaid", ...request } : { status: "paid", ...request, debitId, cost, balance };
}

/**
 * What the handler learns from the pass headers. Only a pass that verified has ids worth
 * acting on (giving back an expired pass's tokens); an invalid one's are the sender's choice.
 */
export type PassReading =
  | { status: "valid"; pass: GatePass }
  | { status: "expired"; pass: GatePass; expiredAt: number }
  | { status: "invalid" };

export interface GateSignerOptions {
  /** The secret passes are signed with (at least 32 characters); the key is derived from it. */
  secret: string;
  /** Secrets accepted for verifying passes, never for signing: the previous one during a rotation. @default [] */
  previousSecrets?: readonly string[];
  /** How long a pass is good for after the gate signs it. @default 60_000 */
  ttlMs?: number;
  /** Clock difference tolerated between the gate and the handler. @default 5_000 */
  clockToleranceMs?: number;
  /** Milliseconds since the epoch. @default Date.now */
  clock?: () => number;
}

/** Purpose labels: a key derived for passes is useless for anything else, and the id reveals nothing of it. */
const KEY_INFO = "tollgate gate pass v2: hmac-sha256 key";
const KID_INFO = "tollgate gate pass v2: key id";
const CANONICAL_PREFIX = "tollgate-pass-v2";

export function stripGateHeaders(headers: Headers): void {
  for (const name of [...headers.keys()]) {
    if (name.toLowerCase().startsWith("x-tollgate-")) headers.delete(name);
  }
}

/** Header values cannot hold a newline, so newline-joined fields are unambiguous. */
function canonical(pass: WirePass, kid: string, expires: number): string {
  return [
    CANONICAL_PREFIX, kid, pass.method, pass.path, expires,
    pass.userId, pass.debitId, pass.cost, pass.routeId, pass.balance, pass.idempotencyKey ?? "",
    // Only held passes sign this line: v2 passes without it keep their MAC.
    ...(pass.hold === null ? [] : [`hold:${pass.hold}`]),
  ].join("\n");
}

interface PassKey {
  kid: string;
  key: CryptoKey;
}

async function derivePassKey(secret: string): Promise<PassKey> {
  const hkdf = (info: string) => ({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode(info) });
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey", "deriveBits"]);
  const key = await crypto.subtle.deriveKey(hkdf(KEY_INFO), base, { name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign", "verify"]);
  const kid = toBase64Url(new Uint8Array(await crypto.subtle.deriveBits(hkdf(KID_INFO), base, 72)));
  return { kid, key };
}

/**
 * Signs passes (the gate in front of the handler) and reads them (the handler). Keys are
 * derived once per signer: importing and deriving cost more than the HMAC itself.
 */
export function createGateSigner(options: GateSignerOptions) {
  const previous = options.previousSecrets ?? [];
  for (const secret of [options.secret, ...previous]) {
    if (typeof secret !== "string" || secret.length < 32) throw new TypeError("a gate signing secret must be at least 32 characters");
  }
  const ttlMs = options.ttlMs ?? 60_000;
  const toleranceMs = options.clockToleranceMs ?? 5_000;
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new TypeError("ttlMs must be a positive whole number");
  if (!Number.isSafeInteger(toleranceMs) || toleranceMs < 0) throw new TypeError("clockToleranceMs must be a whole number ≥ 0");
  const clock = options.clock ?? Date.now;
  const current = derivePassKey(options.secret);
  const keyring = Promise.all([current, ...previous.map(derivePassKey)]);
  // Unhandled until first use otherwise; a failure surfaces on the first sign or read.
  keyring.catch(() => undefined);

  return {
    async write(headers: Headers, gatePass: GatePass): Promise<void> {
      const pass = toWire(gatePass);
      const { kid, key } = await current;
      const expires = clock() + ttlMs;
      const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(canonical(pass, kid, expires)));
      headers.set(GATE_HEADERS.user, pass.userId);
      headers.set(GATE_HEADERS.debit, pass.debitId);
      headers.set(GATE_HEADERS.cost, String(pass.cost));
      headers.set(GATE_HEADERS.route, pass.routeId);
      headers.set(GATE_HEADERS.balance, String(pass.balance));
      if (pass.idempotencyKey !== null) headers.set(GATE_HEADERS.idempotencyKey, pass.idempotencyKey);
      if (pass.hold !== null) headers.set(GATE_HEADERS.hold, pass.hold);
      headers.set(GATE_HEADERS.method, pass.method);
      headers.set(GATE_HEADERS.path, pass.path);
      headers.set(GATE_HEADERS.expires, String(expires));
      headers.set(GATE_HEADERS.kid, kid);
      headers.set(GATE_HEADERS.signature, toBase64Url(new Uint8Array(mac)));
    },

    /**
     * Verifies the pass: its MAC under the key its kid names (the current secret's or a
     * previous one's), then its expiry. Missing, malformed, unknown-kid and forged passes
     * are all "invalid"; the reason is not told, since only the gate writes these headers.
     */
    async read(headers: Headers): Promise<PassReading> {
      const invalid: PassReading = { status: "invalid" };
      const get = (name: string) => headers.get(name);
      const userId = get(GATE_HEADERS.user);
      const debitId = get(GATE_HEADERS.debit);
      const routeId = get(GATE_HEADERS.route);
      const method = get(GATE_HEADERS.method);
      const path = get(GATE_HEADERS.path);
      const kid = get(GATE_HEADERS.kid);
      const signature = get(GATE_HEADERS.signature);
      const cost = Number(get(GATE_HEADERS.cost));
      const balance = Number(get(GATE_HEADERS.balance));
      const expires = Number(get(GATE_HEADERS.expires));
      if (!userId || !debitId || !routeId || !method || !path || !kid || !signature) return invalid;
      if (!Number.isSafeInteger(cost) || !Number.isSafeInteger(balance) || !Number.isSafeInteger(expires)) return invalid;
      const mac = fromBase64Url(signature);
      if (mac === null) return invalid;
      const named = (await keyring).find((k) => k.kid === kid);
      if (named === undefined) return invalid;
      const wire: WirePass = {
        userId, debitId, cost, routeId, balance, idempotencyKey: get(GATE_HEADERS.idempotencyKey), method, path, hold: get(GATE_HEADERS.hold),
      };
      // crypto.subtle.verify compares in constant time.
      const ok = await crypto.subtle.verify("HMAC", named.key, mac, new TextEncoder().encode(canonical(wire, kid, expires)));
      if (!ok) return invalid;
      const pass = fromWire(wire);
      // Signed by us, so never malformed unless the signing code is: refuse rather than guess.
      if (pass === null) return invalid;
      if (clock() > expires + toleranceMs) return { status: "expired", pass, expiredAt: expires };
      return { status: "valid", pass };
    },
  };
}

export type GateSigner = ReturnType<typeof createGateSigner>;

function toBase64Url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(text)) return null;
  try {
    const bin = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}
