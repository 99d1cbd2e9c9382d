/** Where the bridge listens unless PORT says otherwise. */
export const DEFAULT_PORT = 8100
/** The pipe's default SERVER_URL valve: the bridge on the same host. */
export const DEFAULT_SERVER_URL = `http://localhost:${DEFAULT_PORT}`

/** The bridge's HTTP routes, shared by the server and the generated pipe. */
export const ROUTES = {
  chatStream: '/v1/chat/stream',
  chat: '/v1/chat',
  chatStop: '/v1/chat/stop',
  templates: '/v1/templates',
  pipeFile: '/v1/pipe.py',
  memory: '/v1/memory',
  memoryUpdate: '/v1/memory/update',
  health: '/health',
} as const
