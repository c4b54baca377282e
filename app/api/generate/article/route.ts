import { getGenerator } from "@/lib/generation";
import { generationRoute } from "@/lib/server/generation-route";

export const POST = generationRoute(
  [{ name: "topic", kind: "text", max: 200, required: true }],
  (input) => getGenerator().article({ topic: String(input.topic) }),
);
