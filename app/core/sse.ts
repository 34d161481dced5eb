import { PassThrough } from 'node:stream'
import type { HttpContext } from '@adonisjs/core/http'

/** True when the client asked for Server-Sent Events. */
export function wantsEventStream(ctx: HttpContext) {
  return (ctx.request.header('accept') ?? '').includes('text/event-stream')
}

/**
 * Opens a Server-Sent Events response. Each event carries an `id` (for Last-Event-ID resume);
 * `closed` tells the producer the client went away.
 */
export function openEventStream(ctx: HttpContext, status = 200) {
  const stream = new PassThrough()
  let closed = false
  ctx.request.request.on('close', () => {
    closed = true
  })
  ctx.response.status(status)
  ctx.response.header('content-type', 'text/event-stream; charset=utf-8')
  ctx.response.header('cache-control', 'no-cache, no-transform')
  ctx.response.header('x-accel-buffering', 'no')
  ctx.response.stream(stream)
  return {
    get closed() {
      return closed
    },
    send(event: string, data: unknown, id?: string | number) {
      if (closed) return
      stream.write(
        `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
      )
    },
    /** Writes a raw SSE frame (for wire formats such as OpenAI's `data: …` chunks). */
    raw(frame: string) {
      if (!closed) stream.write(frame)
    },
    comment(text: string) {
      if (!closed) stream.write(`: ${text}\n\n`)
    },
    close() {
      closed = true
      stream.end()
    },
  }
}

export type EventStream = ReturnType<typeof openEventStream>
