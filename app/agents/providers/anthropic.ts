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
 * message_stop. System messages become the `system` field; consecutive turns of one role merge.
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

/** Anthropic wants user/assistant turns starting with a user turn; merge repeats. */
function alternate(messages: ChatMessage[]) {
  const turns: { role: 'user' | 'assistant'; content: string }[] = []
  for (const message of messages) {
    const role = message.role === 'assistant' ? 'assistant' : 'user'
    const last = turns.at(-1)
    if (last && last.role === role) last.content += `\n\n${message.content}`
    else turns.push({ role, content: message.content })
  }
  if (turns[0]?.role === 'assistant')
    turns.unshift({ role: 'user', content: '(conversation continues)' })
  return turns
}
