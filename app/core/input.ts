import { DateTime } from 'luxon'
import vine from '@vinejs/vine'
import { InvalidInputException } from '#core/exceptions'

/*
 * Input hygiene shared by every module: what a client may send before anything reaches SQL.
 * PostgreSQL refuses a NUL byte in text and jsonb, and an unpaired UTF-16 surrogate cannot be
 * encoded as UTF-8 (a query with either fails, which used to answer 500): both are refused at
 * the edge (InputHygieneMiddleware). Dates are bounded to years PostgreSQL and Luxon agree on.
 */

/** True when a string holds a NUL byte or an unpaired UTF-16 surrogate (native scans, no allocation). */
export function isUnsafeText(text: string) {
  return text.indexOf('\u0000') !== -1 || !text.isWellFormed()
}

/** The text with each NUL and unpaired surrogate replaced by U+FFFD (to echo a refused value safely). */
export function safeText(text: string) {
  return text.toWellFormed().replaceAll('\u0000', '\uFFFD')
}

/** Deeper than this is refused: later recursive walks (validation, JSON.stringify) would overflow. */
export const MAX_INPUT_DEPTH = 64

type Finding = { path: string[]; problem: 'text' | 'key' | 'depth' }

function scan(value: unknown, depth: number): Finding | null {
  if (typeof value === 'string') return isUnsafeText(value) ? { path: [], problem: 'text' } : null
  if (value === null || typeof value !== 'object') return null
  if (depth >= MAX_INPUT_DEPTH) return { path: [], problem: 'depth' }
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const found = scan(value[index], depth + 1)
      if (found) {
        found.path.unshift(String(index))
        return found
      }
    }
    return null
  }
  // Parsed JSON, query strings and route params are plain objects; anything else (an uploaded
  // file) is not client text.
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) return null
  for (const key in value) {
    if (isUnsafeText(key)) return { path: [key], problem: 'key' }
    const found = scan((value as Record<string, unknown>)[key], depth + 1)
    if (found) {
      found.path.unshift(key)
      return found
    }
  }
  return null
}

const PROBLEMS = {
  text: 'Must not contain NUL bytes or unpaired UTF-16 surrogates.',
  key: 'Keys must not contain NUL bytes or unpaired UTF-16 surrogates.',
  depth: `Nested more than ${MAX_INPUT_DEPTH} levels deep.`,
}

/**
 * The first string or key (at any depth, e.g. `metadata.foo`, `messages.0.content`) holding a
 * NUL byte or an unpaired surrogate, or the point where the value nests too deeply; null when
 * clean. `prefix` names the field the value came from. Also for JSON a field carries as text
 * (a form's metadata, provider settings): its escapes are decoded only when it is parsed.
 */
export function findUnsafeInput(
  value: unknown,
  prefix?: string
): { field: string; message: string } | null {
  const found = scan(value, 0)
  if (!found) return null
  const path = prefix === undefined ? found.path : [prefix, ...found.path]
  return { field: path.map(safeText).join('.') || 'body', message: PROBLEMS[found.problem] }
}

/** Throws a 422 naming the field findUnsafeInput finds. */
export function assertSafeInput(value: unknown, prefix?: string) {
  const found = findUnsafeInput(value, prefix)
  if (found) throw new InvalidInputException(found.field, found.message)
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e][\x20-\x7e]{0,254}$/

/** An Idempotency-Key: 1–255 printable ASCII characters (never truncated: two keys would collide). */
export function isIdempotencyKey(value: unknown): value is string {
  return typeof value === 'string' && IDEMPOTENCY_KEY.test(value)
}

export const IDEMPOTENCY_KEY_RULE = 'An Idempotency-Key is 1 to 255 printable ASCII characters.'

/** Dates a client may send: PostgreSQL, Luxon and JavaScript all handle these years alike. */
export const MIN_YEAR = 2000
export const MAX_YEAR = 9999

const DAY = /^\d{4}-\d{2}-\d{2}$/

/** A calendar day `YYYY-MM-DD` that exists, in years MIN_YEAR–MAX_YEAR. */
export function isBoundedDay(text: unknown): text is string {
  if (typeof text !== 'string' || !DAY.test(text)) return false
  const day = DateTime.fromISO(text, { zone: 'utc' })
  return day.isValid && day.year >= MIN_YEAR && day.year <= MAX_YEAR
}

export const DAY_RULE = `Enter a real date (YYYY-MM-DD) between ${MIN_YEAR} and ${MAX_YEAR}.`

/** Slugs of workspaces, agents and providers (URLs, subdomains): one pattern everywhere. */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/
export const SLUG_RULE =
  'Use 1–40 lower-case letters, digits and dashes, not starting or ending with a dash.'

/** The VineJS field for a slug: trimmed, lower-cased, SLUG_PATTERN (refused with SLUG_RULE). */
export const slug = () =>
  vine
    .string()
    .trim()
    .toLowerCase()
    .use(
      vine.createRule(
        (value, _options, field) => {
          if (typeof value !== 'string' || !SLUG_PATTERN.test(value))
            field.report(SLUG_RULE, 'slug', field)
        },
        { toJSONSchema: (schema) => Object.assign(schema, { pattern: SLUG_PATTERN.source }) }
      )()
    )

/** The VineJS field for a calendar day in a sane year (`-271821-04-20` or year 99999 is a 422). */
export const boundedDay = () =>
  vine
    .string()
    .trim()
    .use(
      vine.createRule(
        (value, _options, field) => {
          if (!isBoundedDay(value)) field.report(DAY_RULE, 'date', field)
        },
        { toJSONSchema: (schema) => Object.assign(schema, { format: 'date' }) }
      )()
    )

/**
 * An ISO 8601 date or date-time (or SQL's `2026-01-01 10:00`; UTC unless it names an offset)
 * in years MIN_YEAR–MAX_YEAR, or null: `-271821-04-20` or year 99999 never reach a query.
 */
export function parseBoundedInstant(text: unknown): Date | null {
  if (typeof text !== 'string' || text.length > 40) return null
  let at = DateTime.fromISO(text, { zone: 'utc', setZone: true })
  if (!at.isValid) at = DateTime.fromSQL(text, { zone: 'utc', setZone: true })
  if (!at.isValid) return null
  const year = at.toUTC().year
  return year >= MIN_YEAR && year <= MAX_YEAR ? at.toJSDate() : null
}

/**
 * The VineJS field for an instant in a sane year (parseBoundedInstant: an ISO 8601 date or
 * date-time, UTC unless it names an offset), as a Date.
 */
export const boundedInstant = () =>
  vine
    .string()
    .use(
      vine.createRule((value, _options, field) => {
        if (!parseBoundedInstant(value))
          field.report(
            `Enter an ISO 8601 date or date-time between ${MIN_YEAR} and ${MAX_YEAR}.`,
            'instant',
            field
          )
      })()
    )
    .transform((value) => parseBoundedInstant(value) as Date)
