import { getGenerator } from "@/lib/generation";
import { CHAT_FIELDS } from "@/lib/server/generation-input";
import { generationRoute } from "@/lib/server/generation-route";

export const POST = generationRoute(CHAT_FIELDS, (input) => getGenerator().chat({ message: String(input.message) }));
