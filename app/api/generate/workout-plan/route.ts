import { getGenerator } from "@/lib/generation";
import { generationRoute } from "@/lib/server/generation-route";

export const POST = generationRoute(
  [
    { name: "goal", kind: "text", max: 200, required: true },
    { name: "daysPerWeek", kind: "int", min: 1, max: 7, required: false },
  ],
  (input) => getGenerator().workoutPlan({ goal: String(input.goal), daysPerWeek: input.daysPerWeek as number | undefined }),
);
