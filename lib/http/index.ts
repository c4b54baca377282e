export {
  AUTH_UNAVAILABLE_RETRY_AFTER_SECONDS,
  authFailureResponse,
  forbidden,
  insufficientTokens,
  invalidRequest,
  meteringUnavailable,
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  problem,
  PROBLEM_CONTENT_TYPE,
  problemType,
  unauthenticated,
  unsupportedMediaType,
  type InsufficientTokensInput,
  type ProblemOptions,
} from "./problem";
export { readJsonBody, type JsonObject, type ReadJsonBodyOptions, type ReadJsonBodyResult } from "./json-body";
