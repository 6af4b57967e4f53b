/**
 * Private set intersection between institutions (Diffie-Hellman PSI over X25519, semi-honest):
 * the API the CLI (`veritrace match …`) and the ledger code build on. docs/psi.md explains it.
 */
export { MatchError, type MatchFailureReason } from "./errors.js";
export {
  PsiProvider,
  PsiRequester,
  providerRecord,
  resultCommitment,
  sessionFailure,
  shufflePoints,
  transcriptDigest,
  type ProviderOutcome,
  type ProviderRecord,
  type PsiProviderOptions,
  type PsiResult,
  type PsiSessionOptions,
  type RequesterState,
  type SessionFailure,
} from "./session.js";
export { IdentifierSet, type IdentifierOptions } from "./identifiers.js";
export {
  DEFAULT_MAX_ELEMENTS,
  IDENTIFIER_TYPES,
  MODES,
  MessageReader,
  PROTOCOL,
  buildRequest,
  buildResponse,
  decodeMessage,
  decodeRequest,
  decodeResponse,
  encodeMessage,
  messageChunks,
  normalizeSessionId,
  type IdentifierType,
  type PsiMessage,
  type PsiMode,
  type PsiRequestMessage,
  type PsiResponseMessage,
  type RequestHeader,
  type ResponseHeader,
} from "./messages.js";
export {
  InlineEngine,
  WorkerEngine,
  engineFor,
  withEngine,
  type CurveEngine,
  type WorkerEngineOptions,
} from "./engine.js";
export {
  openRequestFile,
  readRequestFile,
  readResponseFile,
  writeFileAtomic,
  writeMessageFile,
} from "./files.js";
export {
  LEDGER_SESSION_HEADER,
  MATCH_PATH,
  REQUEST_SIGNATURE_HEADER,
  REQUEST_SIGNER_HEADER,
  RESULT_PATH,
  SIGNATURE_HEADER,
  SIGNER_HEADER,
  cosignOverHttp,
  createMatchServer,
  exchangeOverHttp,
  exchangeWithHeaders,
  type MatchClientOptions,
  type MatchServerOptions,
  type SessionGate,
  type SessionRecord,
} from "./http.js";
export {
  FAILURE_CODES,
  ProviderLedger,
  acceptResponse,
  blindAndOpen,
  connectMatchLedger,
  failOnLedger,
  openOnLedger,
  recordCosigned,
  requestSignatureHeaders,
  requestSignatureOf,
  resultToCosign,
  signRequest,
  type CosignRequest,
  type Cosignature,
  type MatchLedger,
  type LedgerLog,
  type OpenedSession,
} from "./ledger.js";
export { runOnlineSession, type OnlineSessionOptions } from "./online.js";
