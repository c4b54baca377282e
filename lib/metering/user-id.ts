import { isValidUserId, USER_ID_RULE } from "../user-id";
import { InvalidInputError } from "./errors";

export { isValidUserId } from "../user-id";

/** The id, or a 400-class `invalid_user_id` (lib/user-id.ts holds the rule). */
export function assertUserId(value: unknown): string {
  if (!isValidUserId(value)) throw new InvalidInputError("invalid_user_id", `user id must be ${USER_ID_RULE}`);
  return value;
}
