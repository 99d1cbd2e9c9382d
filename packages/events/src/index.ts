export {
  ApprovalDecision,
  ApprovalRequest,
  MAX_APPROVAL_ARGUMENT_CHARS,
  MAX_APPROVAL_REASON_CHARS,
  MAX_APPROVALS,
} from './approvals.ts'
export {
  Attachment,
  base64Chars,
  FILE_MODES,
  type FileMode,
  IMAGE_MEDIA_TYPES,
  ImagePart,
  MAX_ATTACHMENTS,
  MAX_FOLDER_FILE_CHARS,
  MAX_IMAGE_BYTES,
  MAX_IMAGES,
  MAX_IMAGES_BYTES,
  MAX_INLINE_FILE_CHARS,
} from './attachments.ts'
export { ERROR_CODES, ERRORS, ErrorBody, type ErrorCode, errorBody } from './errors.ts'
export {
  type BridgeEvent,
  EVENT_NAMES,
  EVENT_SCHEMAS,
  type EventData,
  type EventName,
  STOP_REASONS,
  type StopReason,
} from './events.ts'
export {
  FINGERPRINT_RULES,
  Fingerprint,
  fingerprint,
  fingerprintText,
  HistoryMessage,
  MAX_CARRIED_CHARS,
  MAX_CARRIED_MESSAGE_CHARS,
  MAX_HISTORY_MESSAGES,
} from './history.ts'
export {
  BlockLabel,
  MAX_BLOCK_CHARS,
  MemoryBlock,
  MemoryRequest,
  MemoryUpdate,
  MemoryView,
} from './memory.ts'
export { ChatRequest, ChatUser, MAX_MESSAGE_CHARS, TemplateName } from './request.ts'
export { ChatResult, Health, HealthSummary, TemplateInfo, TemplateList } from './responses.ts'
export {
  eventIdOf,
  isAfter,
  RESUMABLE_EVENT_ID,
  RESUME_ATTEMPTS,
  RESUME_FIRST_DELAY_MS,
  RESUME_MAX_DELAY_MS,
  type RunPoint,
  runPointOf,
  StopRequest,
} from './resume.ts'
export { DEFAULT_PORT, DEFAULT_SERVER_URL, ROUTES } from './routes.ts'
export { MAX_SOURCE_CHARS, MAX_SOURCES, SourceItem } from './sources.ts'
export {
  decodeEvent,
  encodeEvent,
  isEventName,
  ProtocolError,
  readEvents,
  type SseFrame,
  SseParser,
} from './sse.ts'
export { compileValidator, literalUnion, type Validator } from './validation.ts'
export { PROTOCOL_VERSION, protocolVersionOf, WIRE_SCHEMAS } from './version.ts'
