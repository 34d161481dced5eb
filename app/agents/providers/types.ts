/** The provider adapter interface: every provider kind (simulator, OpenAI-compatible, Anthropic). */

/**
 * One message of a conversation. Inside a tool loop, an assistant turn carries the tool calls
 * the model made, and each result comes back as a `tool` message naming the call it answers.
 */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; content: string; toolCallId: string; name: string }

export type SimulateOptions = {
  latency_ms?: number
  ttft_ms?: number
  fail?: '429' | '500' | 'timeout' | 'midstream'
}

/** A function the model may call (OpenAI's `function` shape, without the wrapper). */
export type ToolDefinition = {
  name: string
  description?: string
  parameters?: Record<string, unknown>
}

/** A complete tool call the model made (arguments as the JSON text the model wrote). */
export type ToolCall = { id: string; name: string; arguments: string }

export type CompletionRequest = {
  /** The provider's own model id. */
  model: string
  messages: ChatMessage[]
  maxTokens: number
  temperature?: number | null
  tools?: ToolDefinition[]
  signal: AbortSignal
  /** Longest wait for the TCP/TLS connection (reused keep-alive sockets skip it). */
  connectTimeoutMs?: number
  simulate?: SimulateOptions
}

export type Usage = {
  inputTokens: number
  outputTokens: number
  cachedTokens?: number
  reasoningTokens?: number
}

/**
 * What an adapter yields while streaming. Tool calls arrive as fragments keyed by `index`
 * (id and name once, arguments in pieces), so a long call still counts as the model answering.
 */
export type StreamChunk =
  | { type: 'delta'; text: string }
  | { type: 'tool_call'; index: number; id?: string; name?: string; arguments?: string }
  | ({ type: 'usage' } & Usage)

export type EmbeddingRequest = {
  /** The provider's own model id. */
  model: string
  input: string[]
  /** The vector width wanted; models that can shorten their vectors are asked for it. */
  dimensions: number
  signal: AbortSignal
}

/** Vectors in input order, and the input tokens the provider reported (null when it did not). */
export type EmbeddingResult = { vectors: number[][]; inputTokens: number | null }

export interface ProviderAdapter {
  stream(request: CompletionRequest): AsyncIterable<StreamChunk>
  /** Absent where the provider kind has no embeddings (Anthropic). */
  embed?(request: EmbeddingRequest): Promise<EmbeddingResult>
}

/**
 * Per-provider settings (the provider row's `settings`), all optional; defaults come from the
 * environment (see run_executor). Timeouts in milliseconds.
 */
export type ProviderSettings = {
  connect_timeout_ms?: number
  first_token_timeout_ms?: number
  total_timeout_ms?: number
  max_retries?: number
  /** A Retry-After longer than this moves on to the next model instead of waiting. */
  max_retry_wait_ms?: number
  breaker?: { failure_threshold?: number; cooldown_ms?: number }
  /** Azure OpenAI: sent as `?api-version=`; also switches authentication to the `api-key` header. */
  api_version?: string
  auth_header?: 'authorization' | 'api-key' | 'x-api-key' | 'none'
  headers?: Record<string, string>
  /** OpenAI-compatible: ask for usage in the last chunk (`stream_options.include_usage`); default true. */
  stream_usage?: boolean
  /** OpenAI's reasoning models want `max_completion_tokens`; default `max_tokens`. */
  max_tokens_field?: 'max_tokens' | 'max_completion_tokens'
  anthropic_version?: string
}

/**
 * `settings` as stored (the provider row, the catalog cache): header values sealed like API
 * keys under `sealed_headers` (names readable), never `headers` in clear. Only the adapter
 * built for a call sees the values (see registry).
 */
export type StoredProviderSettings = Omit<ProviderSettings, 'headers'> & {
  sealed_headers?: Record<string, string>
  /** Written by code older than the encryption (a rolling deploy); read, never written. */
  headers?: Record<string, string>
}

/** A provider failure: `retryable` for 429/5xx/timeouts/network; `status` as the provider reported it. */
export class ProviderError extends Error {
  constructor(
    message: string,
    public status: number,
    public retryable: boolean,
    public retryAfterMs?: number
  ) {
    super(message)
  }
}

/** ceil(characters / 4): the token estimate used for holds, the simulator and unreported usage. */
export function estimateTokens(text: string | number) {
  const length = typeof text === 'number' ? text : text.length
  return Math.ceil(length / 4)
}

/** Characters of everything a conversation sends: texts, and the tool calls' names and arguments. */
export function promptCharacters(messages: ChatMessage[]) {
  let sum = 0
  for (const message of messages) {
    sum += message.content.length
    if (message.role === 'assistant')
      for (const call of message.toolCalls ?? []) sum += call.name.length + call.arguments.length
  }
  return sum
}
