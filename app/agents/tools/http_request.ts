import dns from 'node:dns'
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { pipeline, type Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import zlib from 'node:zlib'
import { isPrivateAddress } from '#core'
import { ToolError, type ToolContext } from '#agents/tools/builtin'

/*
 * http_request lets a model reach the network on the tenant's behalf, so every hop is checked:
 * the scheme, the tenant's allow-list, and every address the host resolves to (after DNS, on the
 * connection itself, so rebinding cannot dodge it). Redirects are followed by hand for the same
 * reason. Nothing is pooled: a socket is never reused across checks.
 */

export const MAX_RESPONSE_BYTES = 256 * 1024
export const MAX_REQUEST_BODY_BYTES = 64 * 1024
export const MAX_REDIRECTS = 3
export const DEFAULT_TIMEOUT_MS = 10_000
const MAX_HEADERS = 50
const MAX_HEADER_VALUE = 8 * 1024

export type HttpRequestArgs = {
  method?: 'GET' | 'POST'
  url: string
  headers?: Record<string, string>
  body?: string
}

export type HttpRequestOutput = {
  status: number
  content_type: string | null
  body: string
  truncated: boolean
}

/** The platform admin's switch for self-hosted deployments whose tools call LAN services. */
export function toolPrivateNetworksAllowed() {
  return process.env.TOOLS_ALLOW_PRIVATE_NETWORKS === 'true'
}

function timeoutMs() {
  const value = Number(process.env.TOOLS_HTTP_TIMEOUT_MS)
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_TIMEOUT_MS
}

// Cloud metadata endpoints hand out credentials; no deployment needs a model to reach them, so
// they are refused even when private networks are allowed. (Mapped forms match too.)
const METADATA = new net.BlockList()
METADATA.addAddress('169.254.169.254', 'ipv4')
METADATA.addAddress('fd00:ec2::254', 'ipv6')

function isMetadataAddress(address: string) {
  const bare = address.split('%')[0]
  const family = net.isIP(bare)
  return family !== 0 && METADATA.check(bare, family === 6 ? 'ipv6' : 'ipv4')
}

/** Why an address may not be reached, or null. `host` is what the model asked for. */
function addressRefusal(host: string, address: string): ToolError | null {
  const subject = host === address ? `"${host}" is` : `"${host}" resolves to`
  if (isMetadataAddress(address))
    return new ToolError(
      `${subject} a cloud metadata address (${address}), which the http_request tool never reaches.`
    )
  if (!toolPrivateNetworksAllowed() && isPrivateAddress(address))
    return new ToolError(
      `${subject} a private address (${address}), which the http_request tool may not reach.`
    )
  return null
}

/** dns.lookup that refuses the host when any of its addresses may not be reached. */
const guardedLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0)
    const list = addresses as dns.LookupAddress[]
    if (list.length === 0)
      return callback(Object.assign(new Error('no addresses'), { code: 'ENOTFOUND' }), '', 0)
    for (const entry of list) {
      const refusal = addressRefusal(hostname, entry.address)
      if (refusal) return callback(refusal as NodeJS.ErrnoException, '', 0)
    }
    if ((options as dns.LookupOptions).all) return (callback as any)(null, list)
    callback(null, list[0].address, list[0].family)
  })
}

type AllowEntry = { host: string; wildcard: boolean; port: number | null }

/** The host as URL's WHATWG form (lower case, punycode, IPv6 in brackets), without a final dot. */
function normalHost(host: string) {
  return new URL(`http://${host}/`).hostname.replace(/\.$/, '')
}

/**
 * An allow-list entry: `host`, `*.host` (any subdomain, not the host itself), either with
 * `:port` (only that port) or without (any port). A pasted URL counts as its host and port.
 */
export function parseAllowEntry(raw: string): AllowEntry | null {
  let text = raw
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/[/?#].*$/, '')
  const wildcard = text.startsWith('*.')
  if (wildcard) text = text.slice(2)
  let host = text
  let port: number | null = null
  if (!net.isIPv6(text)) {
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(text)
    if (!match) return null
    host = match[1]
    port = match[2] === undefined ? null : Number(match[2])
  } else host = `[${text}]`
  if (port !== null && (port < 1 || port > 65535)) return null
  try {
    host = normalHost(host)
  } catch {
    return null
  }
  return host ? { host, wildcard, port } : null
}

function defaultPort(url: URL) {
  return url.protocol === 'https:' ? 443 : 80
}

/** Whether a URL's host and port are on the allow-list. */
export function hostAllowed(url: URL, allowedHosts: string[]) {
  const host = url.hostname.replace(/\.$/, '')
  const port = url.port ? Number(url.port) : defaultPort(url)
  return allowedHosts.some((raw) => {
    const entry = parseAllowEntry(raw)
    if (!entry || (entry.port !== null && entry.port !== port)) return false
    return entry.wildcard ? host.endsWith(`.${entry.host}`) : host === entry.host
  })
}

/** Scheme, allow-list and (for a literal IP) the address; DNS answers are checked on connect. */
function checkTarget(url: URL, allowedHosts: string[]) {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ToolError(`Only http:// and https:// URLs are allowed, not ${url.protocol}//.`)
  if (url.username || url.password)
    throw new ToolError('Credentials in the URL are not allowed; send them in a header instead.')
  if (allowedHosts.length === 0)
    throw new ToolError(
      'The http_request tool has no allowed hosts in this workspace. ' +
        "A workspace admin must add the hosts it may call to the workspace's allow-list."
    )
  if (!hostAllowed(url, allowedHosts))
    throw new ToolError(
      `"${url.host}" is not on this workspace's allow-list for the http_request tool. ` +
        'A workspace admin can add it.'
    )
  const literal = url.hostname.replace(/^\[|\]$/g, '')
  if (net.isIP(literal)) {
    const refusal = addressRefusal(literal, literal)
    if (refusal) throw refusal
  }
}

const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]
// Also dropped: cookies (never sent), and what the transport owns (length, encoding, expect).
const DROPPED = new Set([
  ...HOP_BY_HOP,
  'cookie',
  'cookie2',
  'content-length',
  'accept-encoding',
  'expect',
])
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/

/** The model's headers, checked, without Host, cookies and hop-by-hop headers; names lower-cased. */
export function requestHeaders(input: Record<string, string>): Record<string, string> {
  const entries = Object.entries(input)
  if (entries.length > MAX_HEADERS)
    throw new ToolError(`At most ${MAX_HEADERS} headers are allowed.`)
  // Headers the Connection header names are hop-by-hop too.
  const listed = new Set(
    entries
      .filter(([name]) => name.toLowerCase() === 'connection')
      .flatMap(([, value]) => value.split(',').map((part) => part.trim().toLowerCase()))
  )
  const headers: Record<string, string> = {}
  for (const [name, value] of entries) {
    if (!TOKEN.test(name)) throw new ToolError(`"${name}" is not a valid header name.`)
    const key = name.toLowerCase()
    if (key === 'host')
      throw new ToolError('The Host header cannot be set; it always follows the URL.')
    if (INVALID_VALUE.test(value))
      throw new ToolError(
        `The "${name}" header contains a line break or another invalid character.`
      )
    if (value.length > MAX_HEADER_VALUE)
      throw new ToolError(`The "${name}" header is longer than ${MAX_HEADER_VALUE} characters.`)
    if (DROPPED.has(key) || listed.has(key)) continue
    headers[key] = value
  }
  headers['user-agent'] ??= 'Agora-Tools/1.0'
  headers['accept-encoding'] = 'gzip, deflate, br'
  return headers
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method,
      headers:
        method === 'POST'
          ? { ...headers, 'content-length': String(Buffer.byteLength(body ?? '')) }
          : headers,
      // A fresh connection per hop, resolved through the guard.
      agent: false,
      lookup: guardedLookup,
      signal,
    })
    request.on('response', resolve)
    request.on('error', reject)
    request.end(body)
  })
}

function decoded(response: IncomingMessage): Readable {
  const encoding = String(response.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase()
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : null
  if (!decoder) return response
  // Errors on either side end the other; the reader sees them.
  pipeline(response, decoder, () => {})
  return decoder
}

/** Reads at most MAX_RESPONSE_BYTES (after decompression) as UTF-8; the rest is cut. */
async function readBody(response: IncomingMessage, signal: AbortSignal) {
  const stream = decoded(response)
  const onAbort = () => stream.destroy(signal.reason)
  signal.addEventListener('abort', onAbort, { once: true })
  const text = new StringDecoder('utf8')
  const parts: string[] = []
  let size = 0
  let truncated = false
  try {
    if (signal.aborted) throw signal.reason
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const room = MAX_RESPONSE_BYTES - size
      if (chunk.length > room) {
        // A character cut in half is dropped, not replaced (StringDecoder keeps the partial).
        parts.push(text.write(chunk.subarray(0, room)))
        truncated = true
        break
      }
      parts.push(text.write(chunk))
      size += chunk.length
    }
    if (!truncated) parts.push(text.end())
  } finally {
    signal.removeEventListener('abort', onAbort)
    stream.destroy()
    response.destroy()
  }
  return { body: parts.join(''), truncated }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** A transport failure as a message the model can act on. */
function transportError(
  error: any,
  url: URL,
  timeout: { signal: AbortSignal; ms: number },
  cancel: AbortSignal
): ToolError {
  if (error instanceof ToolError) return error
  if (timeout.signal.aborted)
    return new ToolError(`The request to ${url.host} timed out after ${timeout.ms} ms.`)
  if (cancel.aborted) return new ToolError('The request was cancelled.')
  const code = String(error?.code ?? '')
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_NODATA')
    return new ToolError(`Could not resolve the host "${url.hostname}".`)
  if (code === 'EAI_AGAIN')
    return new ToolError(`Looking up "${url.hostname}" failed for now; try again later.`)
  if (code === 'ECONNREFUSED') return new ToolError(`${url.host} refused the connection.`)
  if (code === 'ECONNRESET' || error?.message === 'aborted')
    return new ToolError(`${url.host} closed the connection unexpectedly.`)
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT')
    return new ToolError(`${url.host} could not be reached (${code}).`)
  if (/CERT|TLS|SSL/.test(code))
    return new ToolError(`The TLS connection to ${url.host} failed: ${error.message}`)
  if (code.startsWith('HPE_') || code.startsWith('Z_'))
    return new ToolError(`${url.host} sent a response that could not be read (${code}).`)
  return new ToolError(`Network error talking to ${url.host}: ${error?.message ?? error}`)
}

/** The http_request tool: GET or POST to an allow-listed host; see the module comment. */
export async function httpRequest(
  args: HttpRequestArgs,
  ctx: Pick<ToolContext, 'allowedHosts' | 'signal'>
): Promise<HttpRequestOutput> {
  let method = args.method ?? 'GET'
  let body = args.body
  if (method === 'GET' && body) throw new ToolError('A GET request cannot have a body; use POST.')
  if (method === 'GET') body = undefined
  if (body !== undefined && Buffer.byteLength(body) > MAX_REQUEST_BODY_BYTES)
    throw new ToolError(`The request body is larger than ${MAX_REQUEST_BODY_BYTES / 1024} KB.`)
  let url: URL
  try {
    url = new URL(args.url)
  } catch {
    throw new ToolError(`"${args.url}" is not a valid absolute URL.`)
  }
  const headers = requestHeaders(args.headers ?? {})
  const ms = timeoutMs()
  const timeout = { ms, signal: AbortSignal.timeout(ms) }
  const signal = AbortSignal.any([ctx.signal, timeout.signal])

  for (let redirects = 0; ; redirects++) {
    let response: IncomingMessage
    try {
      checkTarget(url, ctx.allowedHosts)
      response = await send(url, method, headers, body, signal)
    } catch (error) {
      const failure = transportError(error, url, timeout, ctx.signal)
      if (redirects > 0) failure.message += ` (This was a redirect to ${url.href}.)`
      throw failure
    }
    const status = response.statusCode ?? 0
    const location = response.headers.location
    if (REDIRECTS.has(status) && location) {
      response.destroy()
      if (redirects >= MAX_REDIRECTS)
        throw new ToolError(
          `Too many redirects (more than ${MAX_REDIRECTS}); the last one was from ${url.href}.`
        )
      let next: URL
      try {
        next = new URL(location, url)
      } catch {
        throw new ToolError(`${url.host} redirected to "${location}", which is not a valid URL.`)
      }
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        method = 'GET'
        body = undefined
        delete headers['content-type']
      }
      // Credentials meant for one origin are not handed to another.
      if (next.origin !== url.origin) delete headers.authorization
      url = next
      continue
    }
    try {
      const read = await readBody(response, signal)
      return {
        status,
        content_type: response.headers['content-type'] ?? null,
        body: read.body,
        truncated: read.truncated,
      }
    } catch (error) {
      throw transportError(error, url, timeout, ctx.signal)
    }
  }
}
