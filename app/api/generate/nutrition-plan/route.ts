import { getGenerator } from "@/lib/generation";
import { generationRoute } from "@/lib/server/generation-route";

export const POST = generationRoute(
  [
    { name: "goal", kind: "text", max: 200, required: true },
    { name: "calories", kind: "int", min: 800, max: 6000, required: false },
  ],
  (input) => getGenerator().nutritionPlan({ goal: String(input.goal), calories: input.calories as number | undefined }),
);
