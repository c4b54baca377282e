import type { GatePass } from "../../lib/gateway/forwarded-headers";
import type { HoldMeter } from "../../lib/gateway/metered-route";
import { PRICING } from "../../lib/gateway/pricing";
import type { DebitOutcome } from "../../lib/metering";
import { type ActorContext, errorText, label } from "./actor-context";
import { ALLOWANCE, type Instance, MAX_SIM_HOLD_DEADLINE_MS } from "./world";

/**
 * The paid-request paths: a debit straight through metering or a coalescer, a request
 * through the gate and metered(), and the first requests of a user nobody has seen.
 */

type PaidPass = Extract<GatePass, { status: "paid" }>;
type HeldPass = Extract<GatePass, { status: "held" }>;

/** How a single request's debit is made. */
type Path = "debit" | "coalesced" | "gated";

/** One simulated request's end, as its caller saw it. */
type Ending = "paid" | "refused" | "replay" | "error" | "in-use";

/** A debit made straight through metering or an instance's coalescer (no HTTP). */
export async function debitOnce(ctx: ActorContext, inst: Instance, userId: string, cost: number, key: string | null, coalesced: boolean): Promise<Ending> {
  ctx.model.started(userId);
  const via = `${inst.name}/${coalesced ? "coalesced" : "debit"}`;
  const name = label(ctx, inst, `${coalesced ? "coalesced " : ""}debit ${userId} ${cost}${key ? ` key=${key}` : ""}`);
  const startedAt = Date.now();
  ctx.trace.note(`${name}: start`);
  let outcome: DebitOutcome;
  try {
    outcome = await (coalesced ? inst.coalescer.debit : inst.metering.debit)({ userId, cost, route: "sim", reason: "Simulated work", idempotencyKey: key });
  } catch (error) {
    ctx.trace.note(`${name}: error ${errorText(error)}`);
    return "error";
  }
  // As the platform does: the debit's own background work is kept alive after the answer.
  if (outcome.pending !== null) inst.keep(outcome.pending);
  switch (outcome.status) {
    case "unavailable":
      ctx.trace.note(`${name}: error ${errorText(outcome.error)}`);
      return "error";
    case "ok": {
      ctx.model.answeredPaid({ id: outcome.debitId, userId, cost, via, startedAt, answeredAt: Date.now() });
      // Now and then the caller dies between its answer and the settle: a healer must do it.
      const dies = ctx.prng.chance(0.08);
      ctx.trace.note(`${name}: paid ${outcome.debitId} balance ${outcome.balance}${dies ? " (caller dies before settling)" : ""}`);
      if (!dies) await outcome.settle().catch((error: unknown) => ctx.trace.note(`${name}: settle failed ${errorText(error)}`));
      return "paid";
    }
    case "insufficient_tokens":
      ctx.trace.note(`${name}: refused, balance ${outcome.balance}`);
      return "refused";
    case "replay":
      ctx.trace.note(`${name}: replay of ${outcome.originalDebitId}`);
      return "replay";
    case "idempotency_key_reused":
      ctx.trace.note(`${name}: key reused (${outcome.mismatch}) of ${outcome.originalDebitId}`);
      return "replay";
  }
}

/**
 * A request through the gate in the handler (createGate signer:null + metered()). The
 * handler takes some virtual time and then succeeds, answers 4xx or 5xx, or throws; on
 * all but success metered() gives the tokens back.
 */
export async function gatedOnce(
  ctx: ActorContext, inst: Instance, userId: string, key: string | null,
  behaviour: "2xx" | "4xx" | "5xx" | "throw", workMs: number, routeId?: string,
): Promise<Ending> {
  ctx.model.started(userId);
  const route = PRICING.find((r) => r.id === routeId) ?? ctx.prng.pick(PRICING);
  const name = label(ctx, inst, `gated ${route.id} ${userId} → ${behaviour}${key ? ` key=${key}` : ""}`);
  const startedAt = Date.now();
  ctx.trace.note(`${name}: start`);
  let pass: PaidPass | null = null;
  let held: HeldPass | null = null;
  const handler = async (_request: Request, p: GatePass, meter: HoldMeter | null): Promise<Response> => {
    // No simulated route is fail-open: every pass the handler sees was paid or held.
    if (p.status === "unpaid") throw new Error(`unpaid pass for ${p.routeId}: the simulation prices no fail-open route`);
    const id = p.status === "paid" ? p.debitId : p.holdId;
    if (p.status === "paid") pass = p;
    else held = p;
    ctx.model.answeredPaid({ id, userId, cost: p.status === "paid" ? p.cost : p.held, via: `${inst.name}/gate`, startedAt, answeredAt: Date.now() });
    const answered = p.status === "held" ? { id, userId, held: p.held, charged: null as number | null } : null;
    if (answered !== null) ctx.model.holds.set(id, answered);
    ctx.trace.note(`${name}: handler runs on ${id} (balance ${p.balance})`);
    await new Promise((resolve) => setTimeout(resolve, workMs));
    if (behaviour === "throw") throw new Error("simulated handler crash");
    const status = behaviour === "2xx" ? 200 : behaviour === "4xx" ? 422 : 502;
    // A usage-priced handler settles what it used before answering, most of the time; one
    // that never does has its hold settled by metered() as the route's expiry when its body ends.
    if (meter !== null && answered !== null && status === 200 && ctx.prng.chance(0.8)) {
      const settled = await meter.settle(ctx.prng.int(0, meter.held + 2));
      answered.charged = settled.charged;
      ctx.trace.note(`${name}: settled ${id}: ${settled.status} charged ${settled.charged}`);
    }
    return new Response(JSON.stringify({ work: status === 200 ? "done" : "failed" }), { status, headers: { "content-type": "application/json" } });
  };
  const headers: Record<string, string> = { authorization: `Bearer ${userId}`, "content-type": "application/json" };
  if (key !== null) headers["idempotency-key"] = key;
  let response: Response;
  try {
    response = await inst.route(handler)(new Request(`http://sim.test${route.path}`, { method: "POST", headers, body: "{}" }));
  } catch (error) {
    ctx.trace.note(`${name}: threw ${errorText(error)}`);
    return "error";
  }
  const status = response.status;
  // The body is read as a client would (a handler that never settled is settled when it ends).
  await response.text().catch(() => undefined);
  const h = held as HeldPass | null;
  if (h !== null) {
    const released = response.headers.get("x-tokens-released");
    ctx.trace.note(`${name}: answered ${status} on hold ${h.holdId} released=${released ?? "-"}`);
    // A settled answer says what went back: the charge the caller learnt, which the hold's
    // entry must show (holdChecks). One whose work failed was not used: all of it went back.
    const answered = ctx.model.holds.get(h.holdId);
    if (released !== null && answered !== undefined) answered.charged ??= h.held - Number(released);
    if (status >= 300 && released !== null && Number(released) !== h.held) {
      ctx.violate({
        check: "failed-work-releases-its-hold", userId,
        detail: `HTTP ${status} on hold ${h.holdId} released ${released} of ${h.held}`,
      });
    }
    return "paid";
  }
  const p = pass as PaidPass | null;
  if (p === null) {
    ctx.trace.note(`${name}: answered ${status} before the handler${response.headers.get("idempotent-replayed") ? " (replayed)" : ""}`);
    if (status === 402) return "refused";
    if (status === 409) return "in-use";
    if (status >= 200 && status < 300) return "replay";
    return "error";
  }
  const refunded = response.headers.get("x-tokens-refunded");
  const remaining = response.headers.get("x-tokens-remaining");
  ctx.trace.note(`${name}: answered ${status} refunded=${refunded ?? "-"} remaining=${remaining ?? "-"}`);
  if (status >= 300) {
    ctx.model.owesRefund(userId, { debitId: p.debitId, why: `metered() answered ${status}`, optional: false });
    if (refunded !== null && remaining !== null) checkRemainingAfterRefund(ctx, userId, p, Number(remaining), status);
  }
  return "paid";
}

/**
 * A refunded answer's X-Tokens-Remaining must be a balance the store held after the
 * refund was applied (and before the answer): anything else tells the client a number
 * that never included the tokens the same answer says were given back.
 */
function checkRemainingAfterRefund(ctx: ActorContext, userId: string, pass: PaidPass, remaining: number, status: number): void {
  const appliedAt = ctx.store.refundAppliedAt.get(pass.debitId);
  const held = (ctx.store.balances.get(userId) ?? []).filter((b) => appliedAt !== undefined && b.seq >= appliedAt).map((b) => b.balance);
  if (appliedAt === undefined || !held.includes(remaining)) {
    ctx.violate({
      check: "refunded-answer-shows-balance-after-refund",
      userId,
      detail: `HTTP ${status} for ${pass.debitId} says X-Tokens-Refunded ${pass.cost}, X-Tokens-Remaining ${remaining} (balance before the refund: ${pass.balance}); ` +
        (appliedAt === undefined ? "the refund had not changed the balance yet" : `balances since the refund: ${held.join(", ")}`),
    });
  }
}

/**
 * A usage-priced request (hold.ts): it holds the most it may cost (in full or, when the
 * balance covers only the minimum, partly), works for a while (now and then past its
 * deadline), and settles with what it "used" (now and then more than it held, or nothing),
 * unless its caller dies first and the hold expires into a healer's hands.
 */
export async function streamOnce(ctx: ActorContext, inst: Instance, userId: string): Promise<Ending> {
  const p = ctx.prng;
  ctx.model.started(userId);
  const amount = p.pick([4, 8, 20]);
  const minimum = p.pick([1, 2, amount]);
  const deadlineMs = p.int(5_000, MAX_SIM_HOLD_DEADLINE_MS);
  const onExpiry = p.chance(0.3) ? "release" as const : "charge" as const;
  const name = label(ctx, inst, `hold ${userId} ${amount} (min ${minimum}, ${deadlineMs} ms, ${onExpiry})`);
  const startedAt = Date.now();
  ctx.trace.note(`${name}: start`);
  let outcome;
  try {
    outcome = await inst.metering.hold({ userId, amount, minimum, deadlineMs, onExpiry, route: "sim-stream", reason: "Simulated stream" });
  } catch (error) {
    ctx.trace.note(`${name}: error ${errorText(error)}`);
    return "error";
  }
  if (outcome.pending !== null) inst.keep(outcome.pending);
  if (outcome.status === "unavailable") {
    ctx.trace.note(`${name}: error ${errorText(outcome.error)}`);
    return "error";
  }
  if (outcome.status === "insufficient_tokens") {
    ctx.trace.note(`${name}: refused, balance ${outcome.balance}`);
    return "refused";
  }
  const hold = outcome.hold;
  ctx.model.answeredPaid({ id: hold.id, userId, cost: hold.held, via: `${inst.name}/hold`, startedAt, answeredAt: Date.now() });
  const answered = { id: hold.id, userId, held: hold.held, charged: null as number | null };
  ctx.model.holds.set(hold.id, answered);
  const workMs = p.chance(0.1) ? p.int(deadlineMs, deadlineMs + 40_000) : p.int(0, deadlineMs);
  const dies = p.chance(0.08);
  ctx.trace.note(`${name}: held ${hold.id} ${hold.held} balance ${hold.balance}; works ${workMs} ms${dies ? " (caller dies before settling)" : ""}`);
  await new Promise((resolve) => setTimeout(resolve, workMs));
  if (dies) return "paid";
  const charge = p.chance(0.15) ? 0 : p.int(0, hold.held + 3);
  // As the route handler behind the middleware does: settle by id, from another instance;
  // now and then twice at once (a retried handler), which must release once.
  const how = p.weighted({ owner: 60, byId: 32, twice: 8 } as const);
  const byId = () => p.pick(ctx.instances).metering.settleHold(hold.ticket, charge);
  try {
    const settlement = how === "owner" ? await hold.settle(charge)
      : how === "byId" ? await byId()
      : (await Promise.all([byId(), hold.settle(charge)]))[1];
    if (settlement.pending !== null) inst.keep(settlement.pending);
    // Without a pending retry the charge claim was answered: the store's charge is known.
    else answered.charged = settlement.charged;
    ctx.trace.note(`${name}: settle ${charge} → ${settlement.status} charged ${settlement.charged} released ${settlement.released} (${settlement.ended})${settlement.pending ? " (retrying)" : ""}`);
  } catch (error) {
    ctx.trace.note(`${name}: settle failed ${errorText(error)}`);
  }
  return "paid";
}

/**
 * `count` concurrent first requests of a user nobody has seen, each costing 3 against the
 * monthly allowance of 100. Whatever the allowance covers must be served: a refusal here
 * is a false one (unless a request failed outright, or any request of anyone failed while
 * the burst ran: a compensation lost to an outage leaves its tokens to the healer, and the
 * burst's retries are then refused for a while, which is the design's documented cost).
 */
export async function firstRequests(ctx: ActorContext, inst: Instance, count: number): Promise<void> {
  const p = ctx.prng;
  const userId = ctx.model.freshUserId();
  const path = p.pick<Path>(["debit", "coalesced", "gated"]);
  const cost = 3;
  ctx.trace.note(`${inst.name}: ${count} first request(s) of ${userId} via ${path}`);
  ctx.model.reserved.add(userId);
  const failuresBefore = ctx.networkFailures();
  const endings = await Promise.all(Array.from({ length: count }, () =>
    path === "gated" ? gatedOnce(ctx, inst, userId, null, "2xx", p.int(0, 50), "article") : debitOnce(ctx, inst, userId, cost, null, path === "coalesced")));
  ctx.model.reserved.delete(userId);
  const covered = count * cost <= ALLOWANCE;
  const tally = (e: Ending) => endings.filter((x) => x === e).length;
  ctx.trace.note(`${userId}: first requests: ${tally("paid")} paid, ${tally("refused")} refused, ${tally("error")} failed`);
  const calm = ctx.networkFailures() === failuresBefore;
  if (covered && calm && tally("error") === 0 && tally("refused") > 0) {
    ctx.violate({
      check: "allowance-covers-first-requests",
      userId,
      detail: `${count} concurrent first request(s) via ${inst.name}/${path}, ${count} × ${cost} within the allowance of ${ALLOWANCE}: ${tally("paid")} served, ${tally("refused")} refused`,
    });
  }
}
