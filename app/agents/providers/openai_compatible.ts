import type { IncomingMessage } from 'node:http'
import {
  endpoint,
  httpError,
  postJson,
  readText,
  release,
  upstreamDetail,
} from '#agents/providers/http'
import { parseSse } from '#agents/providers/sse'
import { openAiCompatibleEmbeddings } from '#agents/providers/embeddings'
import {
  ProviderError,
  type ChatMessage,
  type CompletionRequest,
  type EmbeddingRequest,
  type EmbeddingResult,
  type ProviderAdapter,
  type ProviderSettings,
  type StreamChunk,
  type Usage,
} from '#agents/providers/types'

/** Where and how to reach a provider; `publicOnly` (tenant-owned providers) refuses private networks. */
export type ProviderConnection = {
  baseUrl: string
  apiKey: string | null
  settings: ProviderSettings
  publicOnly?: boolean
}

/** A non-streamed answer is read whole, so it is bounded. */
const MAX_JSON_BYTES = 8 * 1024 * 1024

/**
 * OpenAI chat completions over HTTP, as spoken by OpenAI, Azure OpenAI (`api_version` setting:
 * `api-key` header and `?api-version=`), Ollama, vLLM, llama.cpp server and OpenRouter. Streams
 * with SSE and asks for usage in the last chunk; a server that ignores `stream` and answers JSON
 * is accepted too. Usage includes cached prompt tokens and reasoning tokens where reported.
 */
export class OpenAiCompatibleProvider implements ProviderAdapter {
  constructor(private connection: ProviderConnection) {}

  embed(request: EmbeddingRequest): Promise<EmbeddingResult> {
    const { model, input, signal, dimensions } = request
    return openAiCompatibleEmbeddings(this.connection, model, input, signal, dimensions)
  }

  async *stream(request: CompletionRequest): AsyncIterable<StreamChunk> {
    const { settings } = this.connection
    const url = endpoint(this.connection.baseUrl, 'chat/completions')
    if (settings.api_version) url.searchParams.set('api-version', settings.api_version)
    const body: Record<string, unknown> = {
      model: request.model,
      messages: request.messages.map(wireMessage),
      [settings.max_tokens_field ?? 'max_tokens']: request.maxTokens,
      stream: true,
      ...(settings.stream_usage === false ? {} : { stream_options: { include_usage: true } }),
      ...(request.temperature === null || request.temperature === undefined
        ? {}
        : { temperature: request.temperature }),
      ...(request.tools?.length
        ? {
            tools: request.tools.map((tool) => ({
              type: 'function',
              function: {
                name: tool.name,
                description: tool.description,
                parameters: tool.parameters ?? { type: 'object', properties: {} },
              },
            })),
          }
        : {}),
    }
    const response = await postJson(url, this.#headers(), JSON.stringify(body), {
      signal: request.signal,
      connectTimeoutMs: request.connectTimeoutMs ?? 10_000,
      publicOnly: this.connection.publicOnly,
    })
    try {
      if ((response.statusCode ?? 500) >= 400) throw await httpError(response)
      if (!String(response.headers['content-type'] ?? '').includes('text/event-stream')) {
        yield* fromJson(await readText(response, MAX_JSON_BYTES))
        return
      }
      yield* this.#fromSse(response)
    } finally {
      release(response)
    }
  }

  #headers() {
    const { apiKey, settings } = this.connection
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'accept': 'text/event-stream',
      ...(settings.headers ?? {}),
    }
    const auth = settings.auth_header ?? (settings.api_version ? 'api-key' : 'authorization')
    if (apiKey && auth === 'authorization') headers.authorization = `Bearer ${apiKey}`
    else if (apiKey && auth !== 'none') headers[auth] = apiKey
    return headers
  }

  async *#fromSse(response: IncomingMessage): AsyncGenerator<StreamChunk> {
    let finished = false
    let usage: Usage | null = null
    for await (const event of parseSse(response.iterator({ destroyOnReturn: false }))) {
      if (event.data === '[DONE]') {
        finished = true
        break
      }
      let payload: any
      try {
        payload = JSON.parse(event.data)
      } catch {
        throw new ProviderError('The provider sent a malformed event (not JSON).', 502, false)
      }
      // OpenRouter and others report failures inside the stream.
      if (payload?.error)
        throw new ProviderError(
          'The provider reported an error mid-stream: ' +
            upstreamDetail(payload.error.message ?? payload.error),
          502,
          true
        )
      const choice = payload?.choices?.[0]
      const delta = choice?.delta
      if (typeof delta?.content === 'string' && delta.content)
        yield { type: 'delta', text: delta.content }
      if (Array.isArray(delta?.tool_calls)) {
        for (const call of delta.tool_calls) {
          yield {
            type: 'tool_call',
            index: Number(call.index ?? 0),
            id: call.id,
            name: call.function?.name,
            arguments: call.function?.arguments,
          }
        }
      }
      if (choice?.finish_reason) finished = true
      if (payload?.usage) usage = usageOf(payload.usage)
    }
    if (!finished) throw new ProviderError('The stream ended before the model finished.', 502, true)
    if (usage) yield { type: 'usage', ...usage }
  }
}

/** A message in OpenAI's wire shape: only the keys OpenAI defines (strict servers reject others). */
function wireMessage(message: ChatMessage) {
  if (message.role === 'tool')
    return { role: 'tool', tool_call_id: message.toolCallId, content: message.content }
  if (message.role === 'assistant' && message.toolCalls?.length)
    return {
      role: 'assistant',
      // OpenAI wants null, not '', for a turn that only calls tools.
      content: message.content || null,
      tool_calls: message.toolCalls.map((call) => ({
        id: call.id,
        type: 'function',
        function: { name: call.name, arguments: call.arguments },
      })),
    }
  return { role: message.role, content: message.content }
}

function usageOf(raw: any): Usage {
  return {
    inputTokens: Number(raw.prompt_tokens ?? 0),
    outputTokens: Number(raw.completion_tokens ?? 0),
    cachedTokens: Number(raw.prompt_tokens_details?.cached_tokens ?? 0) || undefined,
    reasoningTokens: Number(raw.completion_tokens_details?.reasoning_tokens ?? 0) || undefined,
  }
}

function* fromJson(text: string): Generator<StreamChunk> {
  let payload: any
  try {
    payload = JSON.parse(text)
  } catch {
    throw new ProviderError('The provider sent a malformed answer (not JSON).', 502, false)
  }
  const message = payload?.choices?.[0]?.message
  if (!message) throw new ProviderError('The provider sent an answer without choices.', 502, false)
  if (typeof message.content === 'string' && message.content)
    yield { type: 'delta', text: message.content }
  for (const [index, call] of (message.tool_calls ?? []).entries()) {
    yield {
      type: 'tool_call',
      index,
      id: call.id,
      name: call.function?.name,
      arguments: call.function?.arguments,
    }
  }
  if (payload.usage) yield { type: 'usage', ...usageOf(payload.usage) }
}
