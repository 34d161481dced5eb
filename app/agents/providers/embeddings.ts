import { endpoint, httpError, postJson, readText, release } from '#agents/providers/http'
import type { ProviderConnection } from '#agents/providers/openai_compatible'
import { ProviderError, type EmbeddingResult } from '#agents/providers/types'

/** The width of `simulator/embed` vectors (CONTRACT.md). */
export const SIMULATOR_DIMENSIONS = 256

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string) {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

const WORD = /[\p{L}\p{N}]+/gu

/**
 * `simulator/embed`: the hashing trick over word unigrams and bigrams (bucket from the low
 * bits, sign from a high bit, so collisions cancel out on average), L2-normalised. Texts
 * sharing words are close; the same text always gives the same vector.
 */
export function simulatorEmbedding(text: string): number[] {
  const vector = new Array<number>(SIMULATOR_DIMENSIONS).fill(0)
  const words = text.toLowerCase().match(WORD) ?? []
  const add = (gram: string, weight: number) => {
    const hash = fnv1a(gram)
    vector[hash % SIMULATOR_DIMENSIONS] += hash & 0x80000000 ? -weight : weight
  }
  for (let i = 0; i < words.length; i++) {
    add(words[i], 1)
    if (i > 0) add(`${words[i - 1]} ${words[i]}`, 0.5)
  }
  const norm = Math.hypot(...vector)
  // A zero vector has no direction (cosine distance is undefined): a fixed unit vector instead.
  if (norm === 0) {
    vector[0] = 1
    return vector
  }
  return vector.map((value) => value / norm)
}

/** Inputs per request: far below providers' limits (OpenAI: 2048), so answers stay small. */
const BATCH = 128
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024

/**
 * Embeddings from an OpenAI-compatible server (`POST <base>/embeddings`), in input order, with
 * the prompt tokens it reported (null when any answer lacked them).
 * `dimensions` asks models that can shorten their vectors (text-embedding-3) for that width.
 */
export async function openAiCompatibleEmbeddings(
  connection: ProviderConnection,
  model: string,
  texts: string[],
  signal: AbortSignal,
  dimensions?: number
): Promise<EmbeddingResult> {
  const vectors: number[][] = []
  let inputTokens: number | null = 0
  for (let start = 0; start < texts.length; start += BATCH) {
    const input = texts.slice(start, start + BATCH)
    const batch = await embeddingsBatch(connection, model, input, signal, dimensions)
    vectors.push(...batch.vectors)
    inputTokens =
      inputTokens === null || batch.inputTokens === null ? null : inputTokens + batch.inputTokens
  }
  return { vectors, inputTokens }
}

async function embeddingsBatch(
  connection: ProviderConnection,
  model: string,
  input: string[],
  signal: AbortSignal,
  dimensions?: number
) {
  const { settings, apiKey } = connection
  const url = endpoint(connection.baseUrl, 'embeddings')
  if (settings.api_version) url.searchParams.set('api-version', settings.api_version)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'accept': 'application/json',
    ...(settings.headers ?? {}),
  }
  const auth = settings.auth_header ?? (settings.api_version ? 'api-key' : 'authorization')
  if (apiKey && auth === 'authorization') headers.authorization = `Bearer ${apiKey}`
  else if (apiKey && auth !== 'none') headers[auth] = apiKey

  const body = JSON.stringify({ model, input, ...(dimensions ? { dimensions } : {}) })
  const response = await postJson(url, headers, body, {
    signal,
    connectTimeoutMs: settings.connect_timeout_ms ?? 10_000,
    publicOnly: connection.publicOnly,
  })
  try {
    if ((response.statusCode ?? 500) >= 400) throw await httpError(response)
    let payload: any
    try {
      payload = JSON.parse(await readText(response, MAX_RESPONSE_BYTES))
    } catch (error) {
      if (error instanceof ProviderError) throw error
      throw new ProviderError('The provider sent malformed embeddings (not JSON).', 502, false)
    }
    const data = payload?.data
    if (!Array.isArray(data) || data.length !== input.length)
      throw new ProviderError(
        `The provider sent ${Array.isArray(data) ? data.length : 'no'} embeddings for ${input.length} inputs.`,
        502,
        false
      )
    // `index` says which input an item answers; servers that omit it answer in order.
    const ordered = data.every((item) => Number.isInteger(item?.index))
      ? [...data].sort((a, b) => a.index - b.index)
      : data
    const tokens = payload?.usage?.prompt_tokens
    const vectors = ordered.map((item) => {
      const embedding = item?.embedding
      if (
        !Array.isArray(embedding) ||
        embedding.length === 0 ||
        !embedding.every((value) => typeof value === 'number' && Number.isFinite(value))
      )
        throw new ProviderError(
          'The provider sent an embedding that is not a list of numbers.',
          502,
          false
        )
      return embedding as number[]
    })
    return {
      vectors,
      inputTokens: Number.isInteger(tokens) && tokens >= 0 ? (tokens as number) : null,
    }
  } finally {
    release(response)
  }
}
