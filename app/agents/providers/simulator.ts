import { setTimeout as sleep } from 'node:timers/promises'
import {
  estimateTokens,
  promptCharacters,
  ProviderError,
  type CompletionRequest,
  type EmbeddingRequest,
  type EmbeddingResult,
  type ProviderAdapter,
  type StreamChunk,
} from '#agents/providers/types'
import { simulatorEmbedding } from '#agents/providers/embeddings'

const LOREM =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut ' +
  'labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco ' +
  'laboris nisi ut aliquip ex ea commodo consequat. '

const CHUNK = 16

/** Exactly `length` characters of lorem ipsum. */
function lorem(length: number) {
  return LOREM.repeat(Math.ceil(length / LOREM.length) + 1).slice(0, length)
}

/** What the simulator answers: text, or calls of offered tools (one per command line). */
type Answer = { text: string } | { calls: { name: string; arguments: string }[] }

function answerOf(request: CompletionRequest): Answer {
  const { messages } = request
  const limit = request.maxTokens * 4
  const last = messages.at(-1)
  if (last?.role === 'tool') {
    // All results of the last assistant turn, answered together.
    const results: string[] = []
    for (const message of [...messages].reverse()) {
      if (message.role !== 'tool') break
      results.unshift(`${message.name} → ${message.content}`)
    }
    return { text: results.join('\n').slice(0, limit) }
  }
  if (last?.role === 'user') {
    // Several command lines make parallel calls (as models do); all must be offered.
    const offered = new Set(request.tools?.map((tool) => tool.name))
    const calls = last.content
      .split(/\n(?=\/(?:tool|handoff) )/)
      .map((part) => commandCall(part, offered))
    if (calls.every(Boolean)) return { calls: calls as { name: string; arguments: string }[] }
  }
  if (request.model.endsWith('/lorem')) return { text: lorem(limit) }
  const lastUser = [...messages].reverse().find((m) => m.role === 'user')?.content ?? ''
  return { text: lastUser.slice(0, limit) }
}

/**
 * `/tool <name> <json>` and `/handoff <agent-slug> <text>` as a call, when the agent offers that
 * tool (handoffs are offered as `handoff_to_<slug, - as _>`); otherwise null (echo).
 */
function commandCall(content: string, offered: Set<string>) {
  const tool = /^\/tool +(\S+)(?:\s+([\s\S]*))?$/.exec(content)
  if (tool) {
    // Verbatim, even when not JSON: the engine hands invalid arguments back as an error.
    const call = { name: tool[1], arguments: (tool[2] ?? '').trim() || '{}' }
    return offered.has(call.name) ? call : null
  }
  const handoff = /^\/handoff +(\S+)(?:\s+([\s\S]*))?$/.exec(content)
  if (handoff) {
    const name = `handoff_to_${handoff[1].replaceAll('-', '_')}`
    const call = { name, arguments: JSON.stringify({ message: (handoff[2] ?? '').trim() }) }
    return offered.has(name) ? call : null
  }
  return null
}

/**
 * The built-in, deterministic provider (CONTRACT.md): `simulator/echo` answers the last user
 * message, `simulator/lorem` exactly 4 × max_tokens characters; `/tool` and `/handoff` commands
 * call an offered tool (one call per command line), and tool results are answered as `<name> → <result>`; usage is
 * ceil(chars / 4); output streams in ~16-character chunks; `simulate` injects latency and faults.
 */
export class SimulatorProvider implements ProviderAdapter {
  /** `simulator/embed`: see simulatorEmbedding; usage is ceil(chars / 4) per input, like chat. */
  async embed(request: EmbeddingRequest): Promise<EmbeddingResult> {
    request.signal.throwIfAborted()
    return {
      vectors: request.input.map(simulatorEmbedding),
      inputTokens: request.input.reduce((sum, text) => sum + estimateTokens(text), 0),
    }
  }

  async *stream(request: CompletionRequest): AsyncIterable<StreamChunk> {
    const { simulate = {}, signal } = request
    const answer = answerOf(request)
    let outputChars: number
    let chunks: StreamChunk[]
    if ('calls' in answer) {
      outputChars = answer.calls.reduce((sum, c) => sum + c.name.length + c.arguments.length, 0)
      chunks = answer.calls.map(({ name, arguments: args }, index) => ({
        type: 'tool_call' as const,
        index,
        id: `call_sim_${request.messages.length}${index ? `_${index}` : ''}`,
        name,
        arguments: args,
      }))
    } else {
      outputChars = answer.text.length
      chunks = (answer.text.match(new RegExp(`[\\s\\S]{1,${CHUNK}}`, 'g')) ?? []).map((text) => ({
        type: 'delta' as const,
        text,
      }))
    }

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
    for (const [index, chunk] of chunks.entries()) {
      if (index === failAt)
        throw new ProviderError('Simulated failure in the middle of the stream.', 502, true)
      if (index > 0) await wait(perChunk)
      else if (signal.aborted) throw new ProviderError('The request was aborted.', 499, false)
      yield chunk
    }
    yield {
      type: 'usage',
      inputTokens: estimateTokens(promptCharacters(request.messages)),
      outputTokens: estimateTokens(outputChars),
    }
  }
}
