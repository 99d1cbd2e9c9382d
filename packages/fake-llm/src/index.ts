export type { Reply, Script, ToolCallReply } from './replies.ts'
export { DEFAULT_REPLY } from './replies.ts'
export type { FakeLlm, SeenCall } from './server.ts'
export { FAKE_MODELS, startFakeLlm } from './server.ts'
