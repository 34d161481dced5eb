import db from '@adonisjs/lucid/services/db'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { endpoint, httpError, postJson, readText, release } from '#agents/providers/http'
import type { ProviderConnection } from '#agents/providers/openai_compatible'
import { ProviderError } from '#agents/providers/types'

/** The width of `knowledge_chunks.embedding` (vector(256)). */
export const EMBEDDING_DIMENSIONS = 256

/**
 * Embeddings of `texts` for a workspace's knowledge, or null when the workspace has none.
 * For now every workspace embeds with `simulator/embed` (no network).
 */
export async function embedTexts(_tenantId: string, texts: string[]): Promise<number[][] | null> {
  return texts.map(simulatorEmbedding)
}

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
  const vector = new Array<number>(EMBEDDING_DIMENSIONS).fill(0)
  const words = text.toLowerCase().match(WORD) ?? []
  const add = (gram: string, weight: number) => {
    const hash = fnv1a(gram)
    vector[hash % EMBEDDING_DIMENSIONS] += hash & 0x80000000 ? -weight : weight
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

/** A vector as pgvector's text form, bound as `?::vector`. */
export function vectorLiteral(vector: number[]) {
  return `[${vector.map((value) => Number(value.toPrecision(7))).join(',')}]`
}

/** Inputs per request: far below providers' limits (OpenAI: 2048), so answers stay small. */
const BATCH = 128
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024

/**
 * Embeddings from an OpenAI-compatible server (`POST <base>/embeddings`), in input order.
 * `dimensions` asks models that can shorten their vectors (text-embedding-3) for that width.
 */
export async function openAiCompatibleEmbeddings(
  connection: ProviderConnection,
  model: string,
  texts: string[],
  signal: AbortSignal,
  dimensions?: number
): Promise<number[][]> {
  const result: number[][] = []
  for (let start = 0; start < texts.length; start += BATCH) {
    const input = texts.slice(start, start + BATCH)
    result.push(...(await embeddingsBatch(connection, model, input, signal, dimensions)))
  }
  return result
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
    return ordered.map((item) => {
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
  } finally {
    release(response)
  }
}

/** Whether pgvector answers here (extension installed, column migrated), and its version. */
type VectorSupport = { version: string } | null

let support: VectorSupport = null
let checkedAt = 0
/** A negative answer is rechecked after this long (an operator may install pgvector later). */
const NEGATIVE_TTL_MS = 60_000

async function vectorSupport(
  client: QueryClientContract = db.connection()
): Promise<VectorSupport> {
  if (support || Date.now() - checkedAt < NEGATIVE_TTL_MS) return support
  const { rows } = await client.rawQuery(
    `SELECT e.extversion FROM pg_extension e
      WHERE e.extname = 'vector'
        AND EXISTS (SELECT 1 FROM pg_attribute a
                     WHERE a.attrelid = to_regclass('knowledge_chunks')
                       AND a.attname = 'embedding' AND NOT a.attisdropped)`
  )
  checkedAt = Date.now()
  support = rows[0] ? { version: String(rows[0].extversion) } : null
  return support
}

/**
 * Whether chunks can be searched by embedding: pgvector installed and `knowledge_chunks.embedding`
 * present. Cached once true; pass the open transaction (PGlite serves one connection at a time).
 */
export async function vectorSearchAvailable(client?: QueryClientContract) {
  return (await vectorSupport(client)) !== null
}

/** pgvector ≥ 0.8 can keep scanning an HNSW index until enough rows pass the filters. */
export async function iterativeScanAvailable(client?: QueryClientContract) {
  const found = await vectorSupport(client)
  if (!found) return false
  const [major, minor] = found.version.split('.').map(Number)
  return major > 0 || minor >= 8
}
