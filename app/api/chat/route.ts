import { getGenerator } from "@/lib/generation";
import { generationRoute } from "@/lib/server/generation-route";

export const POST = generationRoute(
  [{ name: "message", kind: "text", max: 2000, required: true }],
  (input) => getGenerator().chat({ message: String(input.message) }),
);
