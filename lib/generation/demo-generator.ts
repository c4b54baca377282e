import type { Generator } from "./generator";

// Deterministic: the same input gives the same output, so tests and replays can compare.
function pick<T>(items: readonly T[], seed: string, salt: number): T {
  let h = 2166136261 ^ salt;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  return items[(h >>> 0) % items.length]!;
}

const OPENERS = ["Few subjects reward attention like", "It is easy to underestimate", "Everyone has an opinion on", "Start with the basics of"];
const MIDDLES = ["The first step is to look at what is measurable.", "Small, consistent changes beat grand plans.", "Most of the cost hides in the details.", "Experts disagree less than headlines suggest."];
const CLOSERS = ["In short: begin small and keep going.", "The rest is practice.", "Measure, adjust, repeat.", "That is enough to start today."];
const MEALS = ["oats with berries", "lentil soup", "grilled chicken salad", "salmon with rice", "tofu stir-fry", "yoghurt and nuts", "bean chili"];
const EXERCISES = ["squats 3×10", "push-ups 3×12", "rows 3×10", "plank 3×45 s", "lunges 3×10", "deadlifts 3×8", "20 min easy run"];
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

export const demoGenerator: Generator = {
  async article({ topic }) {
    return {
      title: `${topic}: a short guide`,
      paragraphs: [
        `${pick(OPENERS, topic, 1)} ${topic}.`,
        pick(MIDDLES, topic, 2),
        pick(CLOSERS, topic, 3),
      ],
    };
  },
  async nutritionPlan({ goal, calories = 2000 }) {
    return {
      goal, calories,
      days: DAYS.slice(0, 3).map((day, i) => ({ day, meals: [0, 1, 2].map((m) => pick(MEALS, `${goal}${day}`, i * 3 + m)) })),
    };
  },
  async workoutPlan({ goal, daysPerWeek = 3 }) {
    return {
      goal,
      sessions: DAYS.slice(0, daysPerWeek).map((day, i) => ({ day, exercises: [0, 1, 2].map((e) => pick(EXERCISES, `${goal}${day}`, i * 3 + e)) })),
    };
  },
  async chat({ message }) {
    return { reply: `${pick(["Good question.", "Let us see.", "Here is a thought."], message, 7)} You asked about "${message.slice(0, 80)}". ${pick(MIDDLES, message, 8)}` };
  },
};
