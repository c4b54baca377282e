import { type GatePass, passCost } from "../gateway/forwarded-headers";
import { nodeApp } from "./node-platform";
import { type Field, parseGenerationInput } from "./generation-input";
import { metered } from "./metered";

export class DemoFailure extends Error {}

/**
 * A generation route: validate the body, do the work, answer JSON. Metering is not its
 * concern: the gate charged before it ran, and `metered` refunds when it fails.
 */
export function generationRoute<T>(fields: readonly Field[], work: (input: Record<string, string | number | boolean>, pass: GatePass) => Promise<T>) {
  return metered(async (request, pass) => {
    const demoFailures = nodeApp().settings.demoFailures;
    const input = await parseGenerationInput(request, fields, demoFailures);
    if (input.status === "refused") return input.response;
    if (input.value.fail === true) throw new DemoFailure("failure requested by the demo flag");
    const result = await work(input.value, pass);
    return Response.json(
      { result, charged: passCost(pass), debitId: pass.status === "paid" ? pass.debitId : null },
      { headers: { "cache-control": "no-store" } },
    );
  });
}
