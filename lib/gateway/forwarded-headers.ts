/**
 * Headers the gate sets on a request it lets through. The route handler trusts them only
 * because (1) the gate deletes any of them a client sent, and (2) they carry an HMAC the
 * handler checks, so a route reached without the gate (a matcher mistake, a direct call
 * to an internal URL) refuses to work rather than trusting a forged user id.
 */
export const GATE_HEADERS = {
  user: "x-tollgate-user",
  debit: "x-tollgate-debit",
  cost: "x-tollgate-cost",
  route: "x-tollgate-route",
  balance: "x-tollgate-balance",
  idempotencyKey: "x-tollgate-idempotency-key",
  signature: "x-tollgate-signature",
} as const;

export interface GatePass {
  userId: string;
  /** "unpaid" when a fail-open route was served without the KV. */
  debitId: string;
  cost: number;
  routeId: string;
  balance: number;
  idempotencyKey: string | null;
}

export function stripGateHeaders(headers: Headers): void {
  for (const name of [...headers.keys()]) {
    if (name.toLowerCase().startsWith("x-tollgate-")) headers.delete(name);
  }
}

function canonical(pass: GatePass): string {
  return [pass.userId, pass.debitId, pass.cost, pass.routeId, pass.balance, pass.idempotencyKey ?? ""].join("\n");
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

/** Caches the imported key per secret: importKey costs as much as the HMAC itself. */
export function createGateSigner(secret: string) {
  if (secret.length < 32) throw new TypeError("the gate signing secret must be at least 32 characters");
  const key = hmacKey(secret);
  return {
    async write(headers: Headers, pass: GatePass): Promise<void> {
      const mac = await crypto.subtle.sign("HMAC", await key, new TextEncoder().encode(canonical(pass)));
      headers.set(GATE_HEADERS.user, pass.userId);
      headers.set(GATE_HEADERS.debit, pass.debitId);
      headers.set(GATE_HEADERS.cost, String(pass.cost));
      headers.set(GATE_HEADERS.route, pass.routeId);
      headers.set(GATE_HEADERS.balance, String(pass.balance));
      if (pass.idempotencyKey !== null) headers.set(GATE_HEADERS.idempotencyKey, pass.idempotencyKey);
      headers.set(GATE_HEADERS.signature, toBase64Url(new Uint8Array(mac)));
    },
    /** The verified pass, or null when the headers are missing, malformed or forged. */
    async read(headers: Headers): Promise<GatePass | null> {
      const userId = headers.get(GATE_HEADERS.user);
      const debitId = headers.get(GATE_HEADERS.debit);
      const cost = Number(headers.get(GATE_HEADERS.cost));
      const routeId = headers.get(GATE_HEADERS.route);
      const balance = Number(headers.get(GATE_HEADERS.balance));
      const signature = headers.get(GATE_HEADERS.signature);
      if (!userId || !debitId || !routeId || !signature || !Number.isSafeInteger(cost) || !Number.isSafeInteger(balance)) return null;
      const pass: GatePass = { userId, debitId, cost, routeId, balance, idempotencyKey: headers.get(GATE_HEADERS.idempotencyKey) };
      const mac = fromBase64Url(signature);
      if (mac === null) return null;
      // crypto.subtle.verify compares in constant time.
      const ok = await crypto.subtle.verify("HMAC", await key, mac, new TextEncoder().encode(canonical(pass)));
      return ok ? pass : null;
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
