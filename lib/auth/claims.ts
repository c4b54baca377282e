import type { JWTPayload } from "jose";
import type { AdminClaimRule } from "./config";

/**
 * Whether verified claims grant admin. Only exact matches count: a claim that is merely
 * truthy ("yes", 1, {}) is not an admin grant, so a sloppy IdP mapping fails closed.
 */
export function isAdminClaims(payload: JWTPayload, rule: AdminClaimRule | null): boolean {
  if (rule === null) {
    return payload.role === "admin" || includes(payload.roles, "admin");
  }
  const value = payload[rule.claim];
  return value === rule.value || includes(value, rule.value) || (rule.acceptTrue && value === true);
}

function includes(value: unknown, wanted: string): boolean {
  return Array.isArray(value) && value.includes(wanted);
}
