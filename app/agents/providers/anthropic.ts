import { endpoint, httpError, postJson, release, upstreamDetail } from '#agents/providers/http'
import { parseSse } from '#agents/providers/sse'
import type { ProviderConnection } from '#agents/providers/openai_compatible'
import {
  ProviderError,
  type ChatMessage,
  type CompletionRequest,
  type ProviderAdapter,
  type StreamChunk,
} from '#agents/providers/types'

const DEFAULT_BASE_URL = 'https://api.anthropic.com'
const DEFAULT_VERSION = '2023-06-01'

/** Anthropic's error types that are worth another attempt. */
const RETRYABLE_ERRORS = new Set([
  'overloaded_error',
  'api_error',
  'rate_limit_error',
  'timeout_error',
])

/**
 * Anthropic Messages API, streamed: message_start (input usage), content_block_start/delta
 * (text and tool_use with partial JSON), message_delta (stop reason, output usage),
 * message_stop. System messages become the `system` field; tool calls and results travel as
 * tool_use / tool_result blocks; consecutive turns of one role merge.
 */
export class AnthropicProvider implements ProviderAdapter {
  constructor(private connection: ProviderConnection) {}

  async *stream(request: CompletionRequest): AsyncIterable<StreamChunk> {
    const { settings, apiKey } = this.connection
    const system = request.messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('\n\n')
    const body: Record<string, unknown> = {
      model: request.model,
      max_tokens: request.maxTokens,
      messages: alternate(request.messages.filter((m) => m.role !== 'system')),
      stream: true,
      ...(system ? { system } : {}),
      ...(request.temperature === null || request.temperature === undefined
        ? {}
        : { temperature: Math.min(1, request.temperature) }),
      ...(request.tools?.length
        ? {
            tools: request.tools.map((tool) => ({
              name: tool.name,
              description: tool.description,
              input_schema: tool.parameters ?? { type: 'object', properties: {} },
            })),
          }
        : {}),
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'accept': 'text/event-stream',
      'anthropic-version': settings.anthropic_version ?? DEFAULT_VERSION,
      ...(settings.headers ?? {}),
    }
    const auth = settings.auth_header ?? 'x-api-key'
    if (apiKey && auth === 'authorization') headers.authorization = `Bearer ${apiKey}`
    else if (apiKey && auth !== 'none') headers[auth] = apiKey
    const url = endpoint(this.connection.baseUrl || DEFAULT_BASE_URL, 'v1/messages')
    const response = await postJson(url, headers, JSON.stringify(body), {
      signal: request.signal,
      connectTimeoutMs: request.connectTimeoutMs ?? 10_000,
      publicOnly: this.connection.publicOnly,
    })
    try {
      if ((response.statusCode ?? 500) >= 400) throw await httpError(response)
      let inputTokens = 0
      let cachedTokens = 0
      let outputTokens = 0
      let sawUsage = false
      let stopped = false
      for await (const event of parseSse(response.iterator({ destroyOnReturn: false }))) {
        if (event.event === 'ping') continue
        let payload: any
        try {
          payload = JSON.parse(event.data)
        } catch {
          throw new ProviderError('The provider sent a malformed event (not JSON).', 502, false)
        }
        switch (payload?.type) {
          case 'message_start': {
            const usage = payload.message?.usage ?? {}
            // input_tokens excludes cache reads and writes: every prompt token is billed as input.
            cachedTokens = Number(usage.cache_read_input_tokens ?? 0)
            inputTokens =
              Number(usage.input_tokens ?? 0) +
              cachedTokens +
              Number(usage.cache_creation_input_tokens ?? 0)
            outputTokens = Number(usage.output_tokens ?? 0)
            sawUsage = payload.message?.usage !== undefined
            break
          }
          case 'content_block_start':
            if (payload.content_block?.type === 'tool_use') {
              yield {
                type: 'tool_call',
                index: Number(payload.index ?? 0),
                id: payload.content_block.id,
                name: payload.content_block.name,
              }
            } else if (payload.content_block?.type === 'text' && payload.content_block.text) {
              yield { type: 'delta', text: payload.content_block.text }
            }
            break
          case 'content_block_delta':
            if (payload.delta?.type === 'text_delta' && payload.delta.text)
              yield { type: 'delta', text: payload.delta.text }
            else if (payload.delta?.type === 'input_json_delta')
              yield {
                type: 'tool_call',
                index: Number(payload.index ?? 0),
                arguments: payload.delta.partial_json ?? '',
              }
            break
          case 'message_delta':
            // Cumulative output tokens so far.
            if (payload.usage?.output_tokens !== undefined) {
              outputTokens = Number(payload.usage.output_tokens)
              sawUsage = true
            }
            break
          case 'message_stop':
            stopped = true
            break
          case 'error': {
            const type = upstreamDetail(payload.error?.type ?? 'error')
            const detail = upstreamDetail(payload.error?.message ?? '')
            throw new ProviderError(
              `The provider reported ${type}: ${detail}`.trim(),
              type === 'overloaded_error' ? 529 : 502,
              RETRYABLE_ERRORS.has(type)
            )
          }
        }
        if (stopped) break
      }
      if (!stopped)
        throw new ProviderError('The stream ended before the model finished.', 502, true)
      if (sawUsage)
        yield { type: 'usage', inputTokens, outputTokens, cachedTokens: cachedTokens || undefined }
    } finally {
      release(response)
    }
  }
}

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; tool_use_id: string; content: string }

type Turn = { role: 'user' | 'assistant'; content: string | Block[] }

/** Plain text stays a string (the simplest wire form); tool calls and results need blocks. */
function contentOf(message: ChatMessage): string | Block[] {
  if (message.role === 'tool')
    return [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }]
  if (message.role === 'assistant' && message.toolCalls?.length)
    return [
      ...textBlocks(message.content),
      ...message.toolCalls.map((call) => ({
        type: 'tool_use' as const,
        id: call.id,
        name: call.name,
        input: toolInput(call.arguments),
      })),
    ]
  return message.content
}

/** Anthropic rejects empty text blocks. */
function textBlocks(content: string | Block[]): Block[] {
  if (typeof content !== 'string') return content
  return content ? [{ type: 'text', text: content }] : []
}

/** Anthropic wants `input` as an object; what the model wrote may not parse as one. */
function toolInput(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text)
    if (value && typeof value === 'object' && !Array.isArray(value)) return value
  } catch {}
  return {}
}

/**
 * Anthropic wants user/assistant turns starting with a user turn; merge repeats (tool results
 * become user turns, so all results of one assistant turn land in the next user message).
 */
function alternate(messages: ChatMessage[]) {
  const turns: Turn[] = []
  for (const message of messages) {
    const role = message.role === 'assistant' ? 'assistant' : 'user'
    const content = contentOf(message)
    const last = turns.at(-1)
    if (!last || last.role !== role) turns.push({ role, content })
    else if (typeof last.content === 'string' && typeof content === 'string')
      last.content += `\n\n${content}`
    else {
      const blocks = [...textBlocks(last.content), ...textBlocks(content)]
      // Anthropic wants a user turn's tool results before any text in it.
      last.content =
        role === 'user'
          ? [
              ...blocks.filter((block) => block.type === 'tool_result'),
              ...blocks.filter((block) => block.type !== 'tool_result'),
            ]
          : blocks
    }
  }
  if (turns[0]?.role === 'assistant')
    turns.unshift({ role: 'user', content: '(conversation continues)' })
  return turns
}
