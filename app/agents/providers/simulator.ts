import { setTimeout as sleep } from 'node:timers/promises'
import {
  estimateTokens,
  promptCharacters,
  ProviderError,
  type CompletionRequest,
  type ProviderAdapter,
  type StreamChunk,
} from '#agents/providers/types'

const LOREM =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut ' +
  'labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco ' +
  'laboris nisi ut aliquip ex ea commodo consequat. '

const CHUNK = 16

/** Exactly `length` characters of lorem ipsum. */
function lorem(length: number) {
  return LOREM.repeat(Math.ceil(length / LOREM.length) + 1).slice(0, length)
}

/**
 * The built-in, deterministic provider (CONTRACT.md): `simulator/echo` answers the last user
 * message, `simulator/lorem` exactly 4 × max_tokens characters; usage is ceil(chars / 4); output
 * streams in ~16-character chunks; `simulate` injects latency and faults.
 */
export class SimulatorProvider implements ProviderAdapter {
  async *stream(request: CompletionRequest): AsyncIterable<StreamChunk> {
    const { simulate = {}, signal } = request
    const lastUser = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? ''
    const limit = request.maxTokens * 4
    const output = request.model.endsWith('/lorem') ? lorem(limit) : lastUser.slice(0, limit)
    const chunks = output.match(new RegExp(`[\\s\\S]{1,${CHUNK}}`, 'g')) ?? []

    const wait = async (ms: number) => {
      if (ms > 0) await sleep(ms, undefined, { signal }).catch(() => {})
      if (signal.aborted) throw new ProviderError('The request was aborted.', 499, false)
    }

    await wait(Math.max(0, simulate.ttft_ms ?? 0))
    if (simulate.fail === '429')
      throw new ProviderError('Simulated rate limit (429).', 429, true, 10)
    if (simulate.fail === '500')
      throw new ProviderError('Simulated upstream error (500).', 500, true)
    if (simulate.fail === 'timeout') {
      await wait(24 * 3600 * 1000)
    }

    const perChunk =
      chunks.length > 1
        ? Math.max(0, (simulate.latency_ms ?? 0) - (simulate.ttft_ms ?? 0)) / chunks.length
        : 0
    const failAt = simulate.fail === 'midstream' ? Math.floor(chunks.length / 2) : -1
    for (const [index, text] of chunks.entries()) {
      if (index === failAt)
        throw new ProviderError('Simulated failure in the middle of the stream.', 502, true)
      if (index > 0) await wait(perChunk)
      else if (signal.aborted) throw new ProviderError('The request was aborted.', 499, false)
      yield { type: 'delta', text }
    }
    yield {
      type: 'usage',
      inputTokens: estimateTokens(promptCharacters(request.messages)),
      outputTokens: estimateTokens(output),
    }
  }
}
