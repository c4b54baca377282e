/**
 * The work behind the metered routes. Tollgate ships a deterministic demo (no external
 * service, nothing calls out); an application replaces it with its own model calls by
 * implementing this interface and returning it from `getGenerator()` in ./index.ts.
 */
export interface ArticleInput { topic: string }
export interface NutritionPlanInput { goal: string; calories?: number }
export interface WorkoutPlanInput { goal: string; daysPerWeek?: number }
export interface ChatInput { message: string }

export interface Article { title: string; paragraphs: string[] }
export interface NutritionPlan { goal: string; calories: number; days: { day: string; meals: string[] }[] }
export interface WorkoutPlan { goal: string; sessions: { day: string; exercises: string[] }[] }
export interface ChatAnswer { reply: string }

export interface Generator {
  article(input: ArticleInput): Promise<Article>;
  nutritionPlan(input: NutritionPlanInput): Promise<NutritionPlan>;
  workoutPlan(input: WorkoutPlanInput): Promise<WorkoutPlan>;
  chat(input: ChatInput): Promise<ChatAnswer>;
}
