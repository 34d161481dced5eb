/** The provider adapter interface: every provider kind (simulator, OpenAI-compatible, Anthropic). */
export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string }

export type SimulateOptions = {
  latency_ms?: number
  ttft_ms?: number
  fail?: '429' | '500' | 'timeout' | 'midstream'
}

export type CompletionRequest = {
  model: string
  messages: ChatMessage[]
  maxTokens: number
  temperature?: number | null
  signal: AbortSignal
  simulate?: SimulateOptions
}

export type StreamChunk =
  | { type: 'delta'; text: string }
  | { type: 'usage'; inputTokens: number; outputTokens: number }

export interface ProviderAdapter {
  stream(request: CompletionRequest): AsyncIterable<StreamChunk>
}

/** A provider failure: `retryable` for 429/5xx/timeouts; `status` as the provider reported it. */
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

/** ceil(characters / 4): the token estimate used for holds and by the simulator. */
export function estimateTokens(text: string | number) {
  const length = typeof text === 'number' ? text : text.length
  return Math.ceil(length / 4)
}

export function promptCharacters(messages: ChatMessage[]) {
  return messages.reduce((sum, message) => sum + message.content.length, 0)
}
