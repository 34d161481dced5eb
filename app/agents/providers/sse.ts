import { ProviderError } from '#agents/providers/types'
import { networkError } from '#agents/providers/http'

export type SseEvent = { event: string; data: string }

/** One SSE event larger than this is refused: a well-behaved model streams small events. */
export const MAX_EVENT_CHARS = 1024 * 1024

/**
 * Parses a Server-Sent Events byte stream (WHATWG rules: `event:`/`data:` fields, comments,
 * CR/LF/CRLF, an event per blank line) into events. A half-received event at the end is still
 * delivered, since some servers close without the final blank line. Transport errors surface
 * as retryable ProviderErrors.
 */
export async function* parseSse(source: AsyncIterable<Buffer | string>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder()
  let buffer = ''
  let event = ''
  let data: string[] = []
  let dataChars = 0
  const take = (line: string): SseEvent | null => {
    if (line === '') {
      if (data.length === 0) {
        event = ''
        return null
      }
      const out = { event: event || 'message', data: data.join('\n') }
      event = ''
      data = []
      dataChars = 0
      return out
    }
    if (line.charCodeAt(0) === 58) return null // ':' comment / keep-alive
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    if (field === 'data') {
      dataChars += value.length
      if (dataChars > MAX_EVENT_CHARS)
        throw new ProviderError(
          `An event from the provider exceeds ${MAX_EVENT_CHARS} characters.`,
          502,
          false
        )
      data.push(value)
    } else if (field === 'event') event = value
    return null
  }

  try {
    for await (const chunk of source) {
      buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true })
      let start = 0
      for (;;) {
        let end = buffer.indexOf('\n', start)
        const cr = buffer.indexOf('\r', start)
        if (cr !== -1 && (end === -1 || cr < end)) {
          // A lone CR ends a line too; CRLF counts once (wait for the next byte if CR is last).
          if (cr === buffer.length - 1) break
          end = cr
        }
        if (end === -1) break
        const line = buffer.slice(start, end)
        start = end + (buffer.charCodeAt(end) === 13 && buffer.charCodeAt(end + 1) === 10 ? 2 : 1)
        const out = take(line)
        if (out) yield out
      }
      buffer = start === 0 ? buffer : buffer.slice(start)
      if (buffer.length > MAX_EVENT_CHARS)
        throw new ProviderError(
          `A line from the provider exceeds ${MAX_EVENT_CHARS} characters.`,
          502,
          false
        )
    }
  } catch (error) {
    throw networkError(error)
  }
  buffer += decoder.decode()
  if (buffer) take(buffer.replace(/\r$/, ''))
  const last = take('')
  if (last) yield last
}
