/**
 * The OpenWebUI routes a person's browser or an API client uses, for the tier's tests
 * (kit README "Driving it from a test"). Each call fails with the route and OpenWebUI's answer.
 */

export type Account = { id: string; email: string; token: string; role: string }

export type ModelEntry = { id: string; name: string; [key: string]: unknown }

export type StoredMessage = {
  id: string
  role: string
  content: string
  done?: boolean
  error?: { content: string }
  statusHistory?: { description?: string; done?: boolean }[]
  output?: unknown[]
  followUps?: string[]
}

export type StoredChat = {
  id: string
  title: string
  chat: { title: string; tags?: string[]; history: { messages: Record<string, StoredMessage> } }
}

/** A file as the 0.11 frontend attaches it to a message (MessageInput.svelte, after upload). */
export type FileItem = {
  type: 'file'
  file: Record<string, unknown>
  id: string
  url: string
  name: string
  collection_name: string
  status: 'uploaded'
  size: number
  error: string
  itemId: string
  content_type: string
}

export class OpenWebUIApi {
  constructor(readonly url: string) {}

  async request<T>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown } = {},
  ): Promise<T> {
    const response = await this.raw(method, path, options)
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${path} → HTTP ${response.status}: ${text}`)
    return JSON.parse(text) as T
  }

  raw(method: string, path: string, options: { token?: string; body?: unknown } = {}) {
    return fetch(this.url + path, {
      method,
      headers: {
        ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(60_000),
    })
  }

  /**
   * Uploads a file as the frontend does, without OpenWebUI's processing (its document loaders
   * are not in the kit): an image as it is (the frontend's own way), a document with its text
   * set afterwards, which runs OpenWebUI's processing on that text (routers/retrieval.py).
   * Returns the item the frontend then attaches to the message.
   */
  async upload(
    token: string,
    file: { name: string; bytes: Uint8Array; contentType: string; text?: string },
  ): Promise<FileItem> {
    const form = new FormData()
    form.append('file', new Blob([file.bytes], { type: file.contentType }), file.name)
    const response = await fetch(`${this.url}/api/v1/files/?process=false`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: form,
      signal: AbortSignal.timeout(60_000),
    })
    if (!response.ok) throw new Error(`upload → HTTP ${response.status}: ${await response.text()}`)
    const uploaded = (await response.json()) as Record<string, unknown> & { id: string }
    if (file.text !== undefined) {
      await this.request('POST', `/api/v1/files/${uploaded.id}/data/content/update`, {
        token,
        body: { content: file.text },
      })
    }
    return {
      type: 'file',
      // The frontend replaces the record's data with the processing status (apis/files).
      file: { ...uploaded, data: { status: 'completed' } },
      id: uploaded.id,
      url: uploaded.id,
      name: file.name,
      collection_name: '',
      status: 'uploaded',
      size: file.bytes.length,
      error: '',
      itemId: crypto.randomUUID(),
      content_type: file.contentType,
    }
  }

  /** The first account to sign up becomes the admin. */
  signup(name: string, email: string, password: string) {
    return this.request<Account>('POST', '/api/v1/auths/signup', {
      body: { name, email, password },
    })
  }

  signin(email: string, password: string) {
    return this.request<Account>('POST', '/api/v1/auths/signin', { body: { email, password } })
  }

  async createApiKey(token: string) {
    return (await this.request<{ api_key: string }>('POST', '/api/v1/auths/api_key', { token }))
      .api_key
  }

  /** Admin → Users → Add user. */
  addUser(admin: string, user: { name: string; email: string; password: string; role: string }) {
    return this.request<Account>('POST', '/api/v1/auths/add', { token: admin, body: user })
  }

  async models(token: string, refresh = false) {
    const path = `/api/models${refresh ? '?refresh=true' : ''}`
    return (await this.request<{ data: ModelEntry[] }>('GET', path, { token })).data
  }

  chat(token: string, chatId: string) {
    return this.request<StoredChat>('GET', `/api/v1/chats/${chatId}`, { token })
  }

  /** The stop button of a saved chat (what OpenWebUI's frontend calls; any chat owner may). */
  stopChat(token: string, chatId: string) {
    return this.request<unknown>('POST', `/api/tasks/chat/${chatId}/stop`, { token })
  }

  /** Stops one task by id (admins only; the frontend's stop button for chats without an id). */
  stopTask(token: string, taskId: string) {
    return this.request<unknown>('POST', `/api/tasks/stop/${taskId}`, { token })
  }

  getValves(token: string, functionId: string) {
    return this.request<Record<string, unknown>>(
      'GET',
      `/api/v1/functions/id/${functionId}/valves`,
      { token },
    )
  }

  setValves(token: string, functionId: string, valves: Record<string, unknown>) {
    return this.request<unknown>('POST', `/api/v1/functions/id/${functionId}/valves/update`, {
      token,
      body: valves,
    })
  }

  /** Admin Panel → Settings → General/Authentication (one form). */
  adminConfig(token: string) {
    return this.request<Record<string, unknown>>('GET', '/api/v1/auths/admin/config', { token })
  }

  setAdminConfig(token: string, config: Record<string, unknown>) {
    return this.request<unknown>('POST', '/api/v1/auths/admin/config', { token, body: config })
  }
}
