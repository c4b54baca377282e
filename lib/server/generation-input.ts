import { invalidRequest, readJsonBody } from "../http";

/**
 * Validates a generation route's JSON body. A 4xx here means no work was done, so the
 * metered wrapper gives the tokens back (see metered-route.ts).
 */
export type Field = { name: string; kind: "text"; max: number; required: boolean } | { name: string; kind: "int"; min: number; max: number; required: boolean };

/** The chat routes' body (chat, streamed chat and their bench twins): one message. */
export const CHAT_FIELDS: readonly Field[] = [{ name: "message", kind: "text", max: 2000, required: true }];

export type ParsedInput = { status: "valid"; value: Record<string, string | number | boolean> } | { status: "refused"; response: Response };

/** `fail: true` makes the demo handler fail on purpose, outside production, to show refunds. */
export async function parseGenerationInput(request: Request, fields: readonly Field[], allowFailFlag: boolean): Promise<ParsedInput> {
  const allowed = [...fields.map((f) => f.name), ...(allowFailFlag ? ["fail"] : [])];
  const body = await readJsonBody(request, { maxBytes: 16 * 1024, allowedKeys: allowed });
  if (body.status === "refused") return body;
  const value: Record<string, string | number | boolean> = {};
  for (const f of fields) {
    const v = body.value[f.name];
    if (v === undefined) {
      if (f.required) return { status: "refused", response: invalidRequest("missing_field", `${f.name} is required`, { field: f.name }) };
      continue;
    }
    if (f.kind === "text") {
       
      if (typeof v !== "string" || v.trim() === "" || v.length > f.max || /[\u0000-\u0008\u000b-\u001f]/.test(v)) {
        return { status: "refused", response: invalidRequest("invalid_field", `${f.name} must be text of 1-${f.max} characters`, { field: f.name }) };
      }
      value[f.name] = v.trim();
    } else {
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < f.min || v > f.max) {
        return { status: "refused", response: invalidRequest("invalid_field", `${f.name} must be a whole number from ${f.min} to ${f.max}`, { field: f.name }) };
      }
      value[f.name] = v;
    }
  }
  if (allowFailFlag && body.value.fail === true) value.fail = true;
  return { status: "valid", value };
}
