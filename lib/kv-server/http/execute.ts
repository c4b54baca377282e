import type { Engine } from "../engine";
import { ReplyError, type Reply } from "../reply";
import { json, refusal, type JsonAnswer } from "./answer";
import { encodeItem, encodeReply } from "./encoding";
import { parseRequest, routeFor, type KvRequest } from "./request-parsing";

/** The well-formed commands of a request (a malformed pipeline item is no command). */
export function commandsOf(request: KvRequest): string[][] {
  if (request.kind === "single") return [request.command];
  if (request.kind === "multi") return request.commands;
  return request.commands.filter((command): command is string[] => Array.isArray(command));
}

/** Runs a parsed request on the engine; the answer carries its replies. */
export async function execute(engine: Engine, request: KvRequest, base64: boolean): Promise<JsonAnswer> {
  if (request.kind === "single") {
    const reply = await engine.exec(request.command);
    if (reply instanceof ReplyError) return refusal(400, reply.message);
    return json(200, { result: encodeReply(reply, base64) });
  }
  if (request.kind === "multi") {
    const replies = await engine.multi(request.commands);
    // EXECABORT is a request-level failure; the client turns a non-2xx into an error.
    if (replies instanceof ReplyError) return refusal(400, replies.message);
    return json(200, replies.map((reply) => encodeItem(reply, base64)));
  }
  const valid = commandsOf(request);
  const replies = valid.length > 0 ? await engine.pipeline(valid) : [];
  let next = 0;
  const merged: Reply[] = request.commands.map((command) =>
    command instanceof ReplyError ? command : (replies[next++] ?? null),
  );
  return json(200, merged.map((reply) => encodeItem(reply, base64)));
}

/**
 * The protocol without the socket: one Upstash REST request (its path and JSON body)
 * answered by an engine in this process, as the server would answer it after admission
 * and faults. For simulation tests that must run the real client and the real protocol
 * handling under a virtual clock, where no real I/O may happen.
 */
export async function answerInProcess(
  engine: Engine,
  path: string,
  body: string,
): Promise<{ status: number; body: unknown }> {
  const parsed = parseRequest(routeFor(path), "POST", Buffer.from(body, "utf8"));
  if (!parsed.ok) return { status: parsed.status, body: { error: parsed.error } };
  const answer = await execute(engine, parsed.request, false);
  return { status: answer.status, body: answer.body };
}
