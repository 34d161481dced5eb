import dns from 'node:dns'
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { isPrivateAddress } from '#core'
import { ProviderError } from '#agents/providers/types'

/*
 * The transport of the HTTP adapters: node:http with keep-alive agents. It is leaner per request
 * than fetch (measured in bench/overhead.js) and exposes the socket, which the connect timeout
 * needs; streaming reads the response as an async iterable of chunks.
 */
const agents = {
  'http:': new http.Agent({
    keepAlive: true,
    maxSockets: 256,
    maxFreeSockets: 64,
    scheduling: 'lifo',
  }),
  'https:': new https.Agent({
    keepAlive: true,
    maxSockets: 256,
    maxFreeSockets: 64,
    scheduling: 'lifo',
  }),
}

const RETRYABLE_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
])

/*
 * Tenant-owned providers may not reach private networks (SSRF: cloud metadata, the database,
 * other services) unless PROVIDER_ALLOW_PRIVATE_NETWORKS=true (self-hosted models on a LAN,
 * local fakes in tests). Checked on every connection, after DNS, so rebinding cannot dodge it.
 */
export function privateNetworksAllowed() {
  return process.env.PROVIDER_ALLOW_PRIVATE_NETWORKS === 'true'
}

const blockedAddress = (address: string) =>
  new ProviderError(
    `The provider's address ${address} is on a private network, which workspace providers may not reach.`,
    403,
    false
  )

/** dns.lookup that refuses private addresses. */
const publicLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0)
    const list = addresses as dns.LookupAddress[]
    const bad = list.find((entry) => isPrivateAddress(entry.address))
    if (bad) return callback(blockedAddress(bad.address) as any, '', 0)
    if ((options as dns.LookupOptions).all) return (callback as any)(null, list)
    callback(null, list[0].address, list[0].family)
  })
}

const publicAgents = {
  'http:': new http.Agent({
    keepAlive: true,
    maxSockets: 256,
    maxFreeSockets: 64,
    scheduling: 'lifo',
    lookup: publicLookup,
  } as http.AgentOptions),
  'https:': new https.Agent({
    keepAlive: true,
    maxSockets: 256,
    maxFreeSockets: 64,
    scheduling: 'lifo',
    lookup: publicLookup,
  } as https.AgentOptions),
}

/** Statuses worth another attempt: rate limits, overload and server errors. */
export function retryableStatus(status: number) {
  return status === 408 || status === 409 || status === 425 || status === 429 || status >= 500
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; `retry-after-ms` (OpenAI) wins. */
export function parseRetryAfter(
  headers: IncomingMessage['headers'],
  now = Date.now()
): number | undefined {
  const ms = Number(headers['retry-after-ms'])
  if (Number.isFinite(ms) && ms >= 0 && headers['retry-after-ms'] !== undefined) return ms
  const raw = headers['retry-after']
  if (typeof raw !== 'string' || raw.trim() === '') return undefined
  if (/^\d+(\.\d+)?$/.test(raw.trim())) return Math.round(Number(raw) * 1000)
  const date = Date.parse(raw)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** A transport failure as a ProviderError (network problems are retryable). */
export function networkError(error: any): ProviderError {
  if (error instanceof ProviderError) return error
  if (error?.name === 'AbortError') return new ProviderError('The request was aborted.', 499, false)
  const code = error?.code as string | undefined
  const message =
    error?.message === 'aborted'
      ? 'The provider closed the connection mid-response.'
      : `Network error talking to the provider: ${error?.message ?? error}`
  return new ProviderError(
    message,
    502,
    code === undefined ||
      RETRYABLE_NETWORK.has(code) ||
      error?.message === 'aborted' ||
      /socket hang up/i.test(error?.message ?? '')
  )
}

/**
 * POSTs a JSON body; resolves with the response once its headers arrive. The connect timeout
 * covers DNS, TCP and TLS of a new socket; the abort signal ends everything at any point.
 */
export function postJson(
  url: URL,
  headers: Record<string, string>,
  body: string,
  options: { signal: AbortSignal; connectTimeoutMs: number; publicOnly?: boolean }
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const publicOnly = options.publicOnly && !privateNetworksAllowed()
    const literal = url.hostname.replace(/^\[|\]$/g, '')
    if (publicOnly && isPrivateAddress(literal)) return reject(blockedAddress(literal))
    const secure = url.protocol === 'https:'
    let connectTimer: NodeJS.Timeout | undefined
    const request = (secure ? https : http).request(url, {
      method: 'POST',
      // Separate pools: a socket opened for a platform provider is never reused unchecked.
      agent: publicOnly
        ? publicAgents[secure ? 'https:' : 'http:']
        : agents[secure ? 'https:' : 'http:'],
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      signal: options.signal,
    })
    request.on('socket', (socket) => {
      if (!socket.connecting) return
      connectTimer = setTimeout(
        () =>
          request.destroy(
            new ProviderError(
              `Could not connect to the provider within ${options.connectTimeoutMs} ms.`,
              504,
              true
            )
          ),
        options.connectTimeoutMs
      )
      socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer))
    })
    request.on('response', (response) => {
      clearTimeout(connectTimer)
      resolve(response)
    })
    request.on('error', (error) => {
      clearTimeout(connectTimer)
      reject(networkError(error))
    })
    request.end(body)
  })
}

/** Reads a whole (small) body as text; more than `limit` bytes is an error. */
export async function readText(response: IncomingMessage, limit: number) {
  const parts: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of response) {
      size += chunk.length
      if (size > limit)
        throw new ProviderError(`The provider's response exceeds ${limit} bytes.`, 502, false)
      parts.push(chunk)
    }
  } catch (error) {
    throw networkError(error)
  }
  return Buffer.concat(parts).toString('utf8')
}

/** Longest piece of an upstream error message kept in a run's error (the tenant sees it). */
export const UPSTREAM_DETAIL_CHARS = 300

/**
 * An upstream's own words (error body, error event) as one short line: control characters and
 * runs of whitespace become one space, and it is cut at UPSTREAM_DETAIL_CHARS with an ellipsis.
 * A provider's error page must not flood run records, problem details or the UI.
 */
export function upstreamDetail(value: unknown) {
  const text = (typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)))
    .replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .trim()
  return text.length > UPSTREAM_DETAIL_CHARS
    ? `${text.slice(0, UPSTREAM_DETAIL_CHARS - 1).trimEnd()}…`
    : text
}

/** An error response (4xx/5xx) as a ProviderError with the provider's message and Retry-After. */
export async function httpError(response: IncomingMessage): Promise<ProviderError> {
  const status = response.statusCode ?? 502
  let detail = ''
  try {
    const text = await readText(response, 64 * 1024)
    try {
      const parsed = JSON.parse(text)
      detail = upstreamDetail(
        parsed?.error?.message ??
          parsed?.message ??
          (typeof parsed?.error === 'string' ? parsed.error : '')
      )
    } catch {
      detail = upstreamDetail(text.slice(0, 4 * UPSTREAM_DETAIL_CHARS))
    }
  } catch {
    response.destroy()
  }
  const message = `The provider answered ${status}${detail ? `: ${detail}` : '.'}`
  return new ProviderError(
    message,
    status,
    retryableStatus(status),
    parseRetryAfter(response.headers)
  )
}

/**
 * Ends a response we stop reading: a fully received one is drained so its keep-alive socket
 * goes back to the pool; anything else is destroyed (the upstream stops generating).
 */
export function release(response: IncomingMessage) {
  if (response.complete) response.resume()
  else response.destroy()
}

/** base + path, keeping the base's own path and query (`…/v1` + `chat/completions`). */
export function endpoint(base: string, path: string) {
  const url = new URL(base)
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path}`
  return url
}
