export {
  authFailureResponse,
  forbidden,
  generationFailed,
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
  unauthenticated,
  unsupportedMediaType,
  type InsufficientTokensInput,
  type ProblemOptions,
} from "./problem";
export { readJsonBody, type JsonObject, type ReadJsonBodyOptions, type ReadJsonBodyResult } from "./json-body";
export { refuseCookieWrite, refuseCrossOrigin, refuseNonJsonBody, type SameOriginOptions } from "./same-origin";
export { refuseForeignHost } from "./allowed-host";
