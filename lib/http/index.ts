export {
  AUTH_UNAVAILABLE_RETRY_AFTER_SECONDS,
  authFailureResponse,
  crossOriginRefused,
  forbidden,
  generationFailed,
  hostNotAllowed,
  insufficientTokens,
  invalidRequest,
  meteringUnavailable,
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  problem,
  problemOfError,
  PROBLEMS,
  type ProblemCode,
  PROBLEM_CONTENT_TYPE,
  problemType,
  unauthenticated,
  unsupportedMediaType,
  type InsufficientTokensInput,
  type ProblemOptions,
} from "./problem";
export { isJsonContentType, readJsonBody, type JsonObject, type ReadJsonBodyOptions, type ReadJsonBodyResult } from "./json-body";
export { refuseCookieWrite, refuseCrossOrigin, refuseNonJsonBody, type SameOriginOptions } from "./same-origin";
export { refuseForeignHost } from "./allowed-host";
