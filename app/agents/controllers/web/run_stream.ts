import { escapeHtml, type EventStream } from '#core'

/** One unnamed SSE message carrying HTML (multi-line data is split into `data:` lines). */
function htmlFrame(html: string, id?: number | string) {
  const data = html
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}`)
    .join('\n')
  return `${id !== undefined ? `id: ${id}\n` : ''}${data}\n\n`
}

/**
 * Adapts a run's event stream (followRun) for htmx's SSE extension, which swaps unnamed messages
 * as HTML into the connecting element's target: each `delta` becomes an escaped `<span>` to
 * append, and the terminal event becomes the finished bubble (an out-of-band swap that replaces
 * the connecting element, which ends the connection), followed by a named `end` event
 * (`hx-sse:close="end"`) in case that swap did not happen. Event ids are kept for Last-Event-ID.
 */
export function htmlRunStream(stream: EventStream, finished: () => Promise<string>): EventStream {
  let pending = Promise.resolve()
  const finish = (id?: number | string) => {
    pending = pending.then(async () => {
      stream.raw(htmlFrame(await finished(), id))
      stream.raw('event: end\ndata: end\n\n')
    })
  }
  return {
    get closed() {
      return stream.closed
    },
    send(event: string, data: unknown, id?: string | number) {
      if (event === 'delta') {
        const text = (data as { text?: unknown })?.text
        if (typeof text === 'string' && text)
          stream.raw(htmlFrame(`<span>${escapeHtml(text)}</span>`, id))
      } else if (event === 'done' || event === 'error') {
        finish(id)
      } else {
        stream.comment(event)
      }
    },
    raw: (frame: string) => stream.raw(frame),
    comment: (text: string) => stream.comment(text),
    close() {
      pending = pending.catch(() => {}).finally(() => stream.close())
    },
  }
}

/** The finished bubble, then `end`, at once: for a client resuming after the terminal event. */
export function sendFinished(stream: EventStream, finished: () => Promise<string>, id?: number) {
  const html = htmlRunStream(stream, finished)
  html.send('done', null, id)
  html.close()
}
