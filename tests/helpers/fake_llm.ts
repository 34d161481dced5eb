/*
 * Local fake model servers speaking the OpenAI chat-completions and Anthropic Messages HTTP
 * protocols (node:http on 127.0.0.1, ephemeral ports). A test sets a scenario — a function that
 * answers one request — and reads what the server received.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type ReceivedRequest = {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: any
}
export type Scenario = (
  request: ReceivedRequest,
  response: ServerResponse,
  index: number
) => void | Promise<void>

export class FakeLlm {
  requests: ReceivedRequest[] = []
  #scenario: Scenario
  #sockets = new Set<Socket>()

  private constructor(
    public kind: 'openai' | 'anthropic',
    private server: http.Server,
    scenario: Scenario
  ) {
    this.#scenario = scenario
  }

  /** Starts a server; the default scenario answers "Hello from the fake." with usage. */
  static async start(kind: 'openai' | 'anthropic', scenario?: Scenario) {
    const server = http.createServer()
    const fake = new FakeLlm(
      kind,
      server,
      scenario ??
        (kind === 'openai'
          ? openai.stream(['Hello ', 'from ', 'the fake.'])
          : anthropic.stream(['Hello ', 'from ', 'the fake.']))
    )
    server.on('connection', (socket) => {
      fake.#sockets.add(socket)
      socket.on('close', () => fake.#sockets.delete(socket))
    })
    server.on('request', (req, res) => {
      const parts: Buffer[] = []
      req.on('data', (chunk) => parts.push(chunk))
      req.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8')
        let body: any = text
        try {
          body = JSON.parse(text)
        } catch {}
        const received = {
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          headers: req.headers,
          body,
        }
        fake.requests.push(received)
        Promise.resolve(fake.#scenario(received, res, fake.requests.length - 1)).catch(() =>
          res.destroy()
        )
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return fake
  }

  get port() {
    return (this.server.address() as AddressInfo).port
  }

  /** The base URL a provider row stores (OpenAI-compatible: with /v1). */
  get baseUrl() {
    return this.kind === 'openai'
      ? `http://127.0.0.1:${this.port}/v1`
      : `http://127.0.0.1:${this.port}`
  }

  use(scenario: Scenario) {
    this.#scenario = scenario
  }

  async close() {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

const sse = (res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
const data = (payload: unknown) =>
  `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`
const chunkOf = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'chatcmpl-fake',
  object: 'chat.completion.chunk',
  created: 0,
  model: 'fake',
  choices: [{ index: 0, delta, finish_reason: finish }],
})

/** Scenarios speaking OpenAI chat completions. */
export const openai = {
  /** Streams `texts` as content deltas; usage in a last chunk unless `usage: null`. */
  stream(
    texts: string[],
    options: {
      usage?: Record<string, unknown> | null
      toolCalls?: { id: string; name: string; arguments: string }[]
    } = {}
  ): Scenario {
    return (_req, res) => {
      sse(res)
      res.write(data(chunkOf({ role: 'assistant', content: '' })))
      for (const text of texts) res.write(data(chunkOf({ content: text })))
      for (const [index, call] of (options.toolCalls ?? []).entries()) {
        res.write(
          data(
            chunkOf({
              tool_calls: [
                {
                  index,
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: '' },
                },
              ],
            })
          )
        )
        // Arguments arrive in pieces, as real models send them.
        for (const piece of call.arguments.match(/[\s\S]{1,5}/g) ?? [])
          res.write(data(chunkOf({ tool_calls: [{ index, function: { arguments: piece } }] })))
      }
      res.write(data(chunkOf({}, options.toolCalls?.length ? 'tool_calls' : 'stop')))
      const usage =
        options.usage === undefined
          ? { prompt_tokens: 11, completion_tokens: texts.length, total_tokens: 11 + texts.length }
          : options.usage
      if (usage)
        res.write(
          data({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', choices: [], usage })
        )
      res.end(data('[DONE]'))
    }
  },
  /** An error status with an OpenAI error body and optional headers (Retry-After…). */
  status(status: number, headers: Record<string, string> = {}): Scenario {
    return (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(
        JSON.stringify({ error: { message: `fake ${status}`, type: 'server_error', code: null } })
      )
    }
  },
  /** An error status with a body of the test's choosing (a huge message, an HTML error page). */
  errorBody(status: number, body: string, contentType = 'application/json'): Scenario {
    return (_req, res) => {
      res.writeHead(status, { 'content-type': contentType })
      res.end(body)
    }
  },
  /** Accepts the request and never answers (timeout before the first byte). */
  silent(): Scenario {
    return () => {}
  },
  /** Sends some content, then resets the connection. */
  resetMidStream(texts: string[]): Scenario {
    return (_req, res) => {
      sse(res)
      for (const text of texts) res.write(data(chunkOf({ content: text })))
      setTimeout(() => res.socket?.resetAndDestroy(), 20)
    }
  },
  /** Content, then an event that is not JSON. */
  malformed(): Scenario {
    return (_req, res) => {
      sse(res)
      res.write(data(chunkOf({ content: 'Fine so far. ' })))
      res.write('data: {"choices": [{"delta": {"content": "oops"\n\n')
      setTimeout(() => res.end(data('[DONE]')), 10)
    }
  },
  /** About `bytes` of content in 64 KB chunks as fast as the client reads, no matter max_tokens. */
  huge(bytes: number): Scenario {
    return async (_req, res) => {
      sse(res)
      const piece = data(chunkOf({ content: 'x'.repeat(64 * 1024 - 120) }))
      for (let sent = 0; sent < bytes && !res.destroyed; sent += piece.length) {
        if (!res.write(piece)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done).off('close', done)
              resolve()
            }
            res.on('drain', done).on('close', done)
          })
        }
      }
      if (!res.destroyed) res.end(data('[DONE]'))
    }
  },
  /** An SSE body one byte per `intervalMs` (default 1 s) until the client goes away. */
  drip(intervalMs = 1000): Scenario {
    return (_req, res) => {
      sse(res)
      const body = data(chunkOf({ content: 'slow' }))
      let index = 0
      const timer = setInterval(() => res.write(body[index++ % body.length]), intervalMs)
      res.write(body[index++])
      res.on('close', () => clearInterval(timer))
    }
  },
}

const event = (name: string, payload: unknown) =>
  `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`

/** Scenarios speaking Anthropic Messages. */
export const anthropic = {
  /** message_start … content deltas … message_delta (usage) … message_stop; optional tool use. */
  stream(
    texts: string[],
    options: {
      usage?: boolean
      toolUse?: { id: string; name: string; input: Record<string, unknown> }
    } = {}
  ): Scenario {
    return (_req, res) => {
      sse(res)
      const usage = options.usage !== false
      res.write(
        event('message_start', {
          type: 'message_start',
          message: {
            id: 'msg_fake',
            type: 'message',
            role: 'assistant',
            content: [],
            model: 'fake',
            ...(usage
              ? { usage: { input_tokens: 9, cache_read_input_tokens: 3, output_tokens: 1 } }
              : {}),
          },
        })
      )
      res.write(
        event('content_block_start', {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'text', text: '' },
        })
      )
      res.write(event('ping', { type: 'ping' }))
      for (const text of texts)
        res.write(
          event('content_block_delta', {
            type: 'content_block_delta',
            index: 0,
            delta: { type: 'text_delta', text },
          })
        )
      res.write(event('content_block_stop', { type: 'content_block_stop', index: 0 }))
      if (options.toolUse) {
        res.write(
          event('content_block_start', {
            type: 'content_block_start',
            index: 1,
            content_block: {
              type: 'tool_use',
              id: options.toolUse.id,
              name: options.toolUse.name,
              input: {},
            },
          })
        )
        const json = JSON.stringify(options.toolUse.input)
        for (const piece of json.match(/[\s\S]{1,4}/g) ?? [])
          res.write(
            event('content_block_delta', {
              type: 'content_block_delta',
              index: 1,
              delta: { type: 'input_json_delta', partial_json: piece },
            })
          )
        res.write(event('content_block_stop', { type: 'content_block_stop', index: 1 }))
      }
      res.write(
        event('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: options.toolUse ? 'tool_use' : 'end_turn' },
          ...(usage ? { usage: { output_tokens: texts.length + 2 } } : {}),
        })
      )
      res.end(event('message_stop', { type: 'message_stop' }))
    }
  },
  status(status: number, headers: Record<string, string> = {}): Scenario {
    return (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(
        JSON.stringify({
          type: 'error',
          error: {
            type: status === 529 ? 'overloaded_error' : 'api_error',
            message: `fake ${status}`,
          },
        })
      )
    }
  },
  /** Streams a little, then an `error` event (overloaded). */
  overloadedMidStream(): Scenario {
    return (_req, res) => {
      sse(res)
      res.write(
        event('message_start', {
          type: 'message_start',
          message: { usage: { input_tokens: 5, output_tokens: 1 } },
        })
      )
      res.end(
        event('error', {
          type: 'error',
          error: { type: 'overloaded_error', message: 'Overloaded' },
        })
      )
    }
  },
}

/** The catalog name of a fake model of a provider slug. */
export function fakeModelName(providerSlug: string, name = 'fake-model') {
  return `${providerSlug}/${name}`
}
