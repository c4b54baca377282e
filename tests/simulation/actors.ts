import { type ActorContext, errorText, label, pickUser } from "./actor-context";
import { debitOnce, firstRequests, gatedOnce, streamOnce } from "./requests";
import { type Instance, METERING } from "./world";

/** Everything the scheduler can start, with its weight. */
export const OPERATIONS = {
  debit: 14,
  coalesced: 14,
  gated: 18,
  stream: 10,
  refund: 6,
  credit: 5,
  reset: 1,
  heal: 5,
  stats: 4,
  slowHeal: 1,
  firstRequest: 3,
  burst: 1,
  monthlyCron: 1,
} as const;

export type OperationKind = keyof typeof OPERATIONS;

/** Starts one operation; the promise ends when its caller got its answer. */
export function startOperation(ctx: ActorContext, kind: OperationKind): Promise<unknown> {
  const p = ctx.prng;
  const inst = p.pick(ctx.instances);
  const maybeKey = (userId: string) => (p.chance(0.25) ? `${ctx.keyEpoch()}-${userId}-r${p.int(1, 6)}` : null);
  switch (kind) {
    case "debit":
    case "coalesced": {
      const userId = pickUser(ctx);
      return debitOnce(ctx, inst, userId, p.pick([1, 3, 5, 10]), maybeKey(userId), kind === "coalesced");
    }
    case "gated": {
      const userId = pickUser(ctx);
      const behaviour = p.weighted({ "2xx": 60, "4xx": 15, "5xx": 10, throw: 15 } as const);
      return gatedOnce(ctx, inst, userId, maybeKey(userId), behaviour, p.int(0, 3_000));
    }
    case "stream":
      return streamOnce(ctx, inst, pickUser(ctx));
    case "refund":
      return adminRefund(ctx, inst);
    case "credit":
      return topUp(ctx, inst);
    case "reset":
      return resetUser(ctx, inst, pickUser(ctx));
    case "heal": {
      const open = ctx.openUsers();
      const userId = open.length > 0 && p.chance(0.7) ? p.pick(open) : pickUser(ctx);
      const name = label(ctx, inst, `heal ${userId}`);
      ctx.trace.note(`${name}: start`);
      return inst.metering.heal(userId).then(
        (r) => ctx.trace.note(`${name}: ${r.locked ? `examined ${r.examined} settled ${r.settled} compensated ${r.compensated} applied ${r.applied} dropped ${r.dropped}` : "locked by another healer"}`),
        (error: unknown) => ctx.trace.note(`${name}: error ${errorText(error)}`),
      );
    }
    case "slowHeal": {
      // A healer whose round trips crawl (each just under the KV timeout) while it works
      // through the user with the most open operations: its pass can outlive the heal
      // lock (15 s), and the next healer then takes the lock in the middle of it.
      const [userId] = ctx.openUsers();
      if (userId === undefined) return Promise.resolve();
      ctx.slowDown(inst.name, p.int(20_000, 40_000));
      const name = label(ctx, inst, `slowed heal ${userId}`);
      ctx.trace.note(`${name}: start`);
      return inst.metering.heal(userId).then(
        (r) => ctx.trace.note(`${name}: ${r.locked ? `examined ${r.examined} settled ${r.settled} compensated ${r.compensated} applied ${r.applied} dropped ${r.dropped}` : "locked by another healer"}`),
        (error: unknown) => ctx.trace.note(`${name}: error ${errorText(error)}`),
      );
    }
    case "stats": {
      const userId = pickUser(ctx);
      ctx.model.started(userId);
      const name = label(ctx, inst, `stats ${userId}`);
      ctx.trace.note(`${name}: start`);
      return inst.metering.stats(userId).then(
        (s) => ctx.trace.note(`${name}: balance ${s.balance} pending ${s.pending}`),
        (error: unknown) => ctx.trace.note(`${name}: error ${errorText(error)}`),
      );
    }
    case "firstRequest":
      return firstRequests(ctx, inst, 1);
    case "burst":
      return firstRequests(ctx, inst, 30);
    case "monthlyCron": {
      const name = label(ctx, inst, "monthly cron");
      ctx.trace.note(`${name}: start`);
      return inst.metering.runMonthlyGrants().then(
        (r) => ctx.trace.note(`${name}: ${r.period} users ${r.users} granted ${r.granted} already ${r.alreadyGranted} failed ${r.failed}`),
        (error: unknown) => ctx.trace.note(`${name}: error ${errorText(error)}`),
      );
    }
  }
}

async function adminRefund(ctx: ActorContext, inst: Instance): Promise<void> {
  const p = ctx.prng;
  const all = ctx.model.paidOrder;
  if (all.length === 0) return;
  // Mostly recent debits: those still in a handler race metered()'s own refund.
  const target = p.chance(0.6) ? p.pick(all.slice(-10)) : p.pick(all);
  const name = label(ctx, inst, `admin refund ${target.userId} ${target.id}`);
  ctx.trace.note(`${name}: start`);
  try {
    const outcome = await inst.metering.refund(target.userId, target.id, "Admin refund");
    ctx.trace.note(`${name}: ${outcome.status}${outcome.status === "refunded" ? ` balance ${outcome.balance}` : ""}`);
    if (outcome.status === "refunded") ctx.model.owesRefund(target.userId, { debitId: target.id, why: "admin refund answered refunded", optional: false });
  } catch (error) {
    ctx.trace.note(`${name}: error ${errorText(error)}`);
  }
}

async function topUp(ctx: ActorContext, inst: Instance): Promise<void> {
  const p = ctx.prng;
  const userId = pickUser(ctx);
  ctx.model.started(userId);
  // Keyed top-ups reuse a few keys per user, so retries and races happen.
  const key = p.chance(0.6) ? `${ctx.keyEpoch()}-${userId}-c${p.int(1, 4)}` : null;
  const labelText = key !== null ? `key=${key}` : `call=${++ctx.counters.credits}`;
  const amount = p.int(1, 40);
  const name = label(ctx, inst, `top-up ${userId} +${amount} ${labelText}`);
  const startedAt = Date.now();
  ctx.trace.note(`${name}: start`);
  try {
    const outcome = await inst.metering.credit({ userId, amount, reason: `Top-up ${labelText}`, idempotencyKey: key });
    ctx.trace.note(`${name}: ${outcome.status}`);
    if (outcome.status === "applied") ctx.model.user(userId).appliedCredits.set(labelText, startedAt);
  } catch (error) {
    ctx.trace.note(`${name}: error ${errorText(error)}`);
  }
}

async function resetUser(ctx: ActorContext, inst: Instance, userId: string): Promise<void> {
  const u = ctx.model.started(userId);
  const name = label(ctx, inst, `reset ${userId}`);
  const startedAt = Date.now();
  ctx.trace.note(`${name}: start`);
  try {
    await inst.metering.reset(userId);
    const answeredAt = Date.now();
    ctx.trace.note(`${name}: done`);
    u.lastReset = { startedAt, answeredAt };
    u.certainSince = Math.max(u.certainSince, answeredAt);
  } catch (error) {
    ctx.trace.note(`${name}: error ${errorText(error)}`);
    // It may still land, within the timing bound: nothing before then is certain.
    u.certainSince = Math.max(u.certainSince, startedAt + METERING.healAfterMs!);
  }
}
