export type { AgentInit, SimAgent } from './agents.ts'
export type { Decision } from './approvals.ts'
export type { ImageView } from './content.ts'
export type { RunView } from './control.ts'
export type { LettaFixture } from './fixtures.ts'
export {
  LETTA_FIXTURES_DIR,
  lettaFixture,
  lettaFixtures,
  recordedAgentBody,
  recordedPendingRequest,
  recordedSend,
} from './fixtures.ts'
export type { FileProcessing, SimFile, SimFolder } from './folders.ts'
export type {
  ErrorFrame,
  ErrorInput,
  FrameInput,
  MessageFrame,
  PingFrame,
  StopReasonFrame,
  UsageFrame,
} from './frames.ts'
export { readRawEvents } from './frames.ts'
export type { Query, RecordedRequest } from './http.ts'
export type { ModelCatalog } from './models.ts'
export { DEFAULT_MODELS } from './models.ts'
export type { StreamStats } from './runs.ts'
export type {
  AfterApprovalOptions,
  AnsweredCall,
  ReasoningToolAnswerOptions,
  Scenario,
  ScenarioRequest,
  Step,
  StreamErrorType,
  TokenStreamOptions,
} from './scenarios.ts'
export {
  afterApproval,
  approvalRequest,
  demoScenario,
  dropAfter,
  errorAfterOutput,
  errorBeforeOutput,
  hiddenReasoning,
  httpError,
  malformedFrame,
  oversizedFrame,
  reasoningToolAnswer,
  replayTranscript,
  stallAfter,
  tokenStream,
  unknownMessageType,
  webSearchAnswer,
} from './scenarios.ts'
export type { LettaSim, SimOptions } from './sim.ts'
export { startLettaSim } from './sim.ts'
export type { CancelRecord } from './state.ts'
export type { ThreadSend } from './threads.ts'
export { threadSends } from './threads.ts'
