import type { HttpContext } from '@adonisjs/core/http'

/** What a refused form shows: the status, code, one message, the messages of each marked field. */
export type Refusal = {
  status: number
  code: string | undefined
  message: string
  fieldErrors: Record<string, string[]>
  /** The refusal itself, for pages that word it with its facts (e.g. the credits a run needs). */
  error: unknown
}

/** How a browser form answers a refusal: render a page (or fragment) again, or redirect. */
export type RefusalAnswer = { render: (refusal: Refusal) => unknown } | { redirect: string }

const ANSWERS = new WeakMap<HttpContext, RefusalAnswer>()

/**
 * Declares, before the work, what this browser form answers when a validator or an action
 * refuses it (a 4xx other than 401/403/404): the page or fragment rendered again with the
 * fields marked (status kept; the renderer may redirect instead), or a redirect flashing the
 * message, the field errors and the input. Without a declaration the handler redirects back (the
 * Referer). The exception handler applies it, so controllers never catch a refusal.
 */
export function onRefusal(ctx: HttpContext, answer: RefusalAnswer) {
  ANSWERS.set(ctx, answer)
}

/** The answer declared for this request, if any (for the exception handler). */
export function refusalAnswer(ctx: HttpContext) {
  return ANSWERS.get(ctx)
}

/** Field → messages, as components/field shows them (`items.0.name` marks the `items` field). */
export function fieldErrorsOf(errors: { field: string; message: string }[] | undefined) {
  const byField: Record<string, string[]> = {}
  for (const { field, message } of errors ?? []) (byField[field.split('.')[0]] ??= []).push(message)
  return byField
}
