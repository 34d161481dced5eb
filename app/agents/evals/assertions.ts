import vm from 'node:vm'
import { Ajv, type ValidateFunction } from 'ajv'
import { formatCredits, InvalidInputException } from '#core'

export const ASSERTION_TYPES = [
  'contains',
  'not_contains',
  'regex',
  'equals',
  'json_schema',
  'max_latency_ms',
  'max_cost_credits',
] as const
export type AssertionType = (typeof ASSERTION_TYPES)[number]

export type Assertion = { type: AssertionType; value: unknown }

/** What an assertion is checked against: the run's output, latency and cost. */
export type Observed = { output: string; latencyMs: number; costMicros: bigint }

const MAX_TEXT = 10_000
const MAX_PATTERN = 500
const MAX_SCHEMA_BYTES = 20_000
/** An assertion that takes longer (a regex that backtracks without end) fails instead. */
const TIME_LIMIT_MS = 100

const ajv = new Ajv({ allErrors: false, strict: false, validateSchema: true })

/**
 * Checks assertions as written (422 on `${field}.N.value` or `.type`) and returns them in their
 * stored form: regexes compile, JSON schemas compile, limits are non-negative numbers.
 */
export function parseAssertions(raw: unknown, field: string): Assertion[] {
  if (!Array.isArray(raw) || raw.length === 0)
    throw new InvalidInputException(field, 'Give at least one assertion.')
  if (raw.length > 20) throw new InvalidInputException(field, 'At most 20 assertions per case.')
  return raw.map((item, index) => {
    const at = `${field}.${index}`
    if (!item || typeof item !== 'object' || Array.isArray(item))
      throw new InvalidInputException(at, 'An assertion is an object {type, value}.')
    const { type, value } = item as { type?: unknown; value?: unknown }
    if (!ASSERTION_TYPES.includes(type as AssertionType))
      throw new InvalidInputException(`${at}.type`, `Choose one of: ${ASSERTION_TYPES.join(', ')}.`)
    return {
      type: type as AssertionType,
      value: checkValue(type as AssertionType, value, `${at}.value`),
    }
  })
}

function checkValue(type: AssertionType, value: unknown, field: string): unknown {
  switch (type) {
    case 'contains':
    case 'not_contains':
    case 'equals':
      if (typeof value !== 'string' || (type !== 'equals' && value === ''))
        throw new InvalidInputException(field, 'Give the text to look for.')
      if (value.length > MAX_TEXT)
        throw new InvalidInputException(field, `At most ${MAX_TEXT} characters.`)
      return value
    case 'regex': {
      if (typeof value !== 'string' || !value)
        throw new InvalidInputException(field, 'Give a regular expression (JavaScript syntax).')
      if (value.length > MAX_PATTERN)
        throw new InvalidInputException(field, `At most ${MAX_PATTERN} characters.`)
      try {
        new RegExp(value, 'u')
      } catch (error) {
        throw new InvalidInputException(
          field,
          `Not a valid regular expression: ${(error as Error).message}`
        )
      }
      return value
    }
    case 'json_schema': {
      if (!value || typeof value !== 'object' || Array.isArray(value))
        throw new InvalidInputException(field, 'Give a JSON Schema object.')
      if (JSON.stringify(value).length > MAX_SCHEMA_BYTES)
        throw new InvalidInputException(field, `A schema is at most ${MAX_SCHEMA_BYTES} bytes.`)
      try {
        compile(value as object)
      } catch (error) {
        throw new InvalidInputException(
          field,
          `Not a valid JSON Schema: ${(error as Error).message}`
        )
      }
      return value
    }
    case 'max_latency_ms':
      if (!Number.isInteger(value) || (value as number) < 0)
        throw new InvalidInputException(field, 'Give a whole number of milliseconds.')
      return value
    case 'max_cost_credits':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
        throw new InvalidInputException(field, 'Give a number of credits (0 or more).')
      return value
  }
}

const compiled = new Map<string, ValidateFunction>()

function compile(schema: object) {
  const key = JSON.stringify(schema)
  let validate = compiled.get(key)
  if (!validate) {
    validate = ajv.compile(schema)
    if (compiled.size > 500) compiled.clear()
    compiled.set(key, validate)
  }
  return validate
}

/** Runs `fn` under a time limit: V8 interrupts even a regex stuck backtracking. */
function limited<T>(fn: () => T): T | typeof TIMED_OUT {
  try {
    return vm.runInContext('fn()', vm.createContext({ fn }), { timeout: TIME_LIMIT_MS }) as T
  } catch (error) {
    if ((error as { code?: string })?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return TIMED_OUT
    throw error
  }
}
const TIMED_OUT = Symbol('timed out')

const shown = (text: string) =>
  text.length > 80 ? `${JSON.stringify(text.slice(0, 80))}…` : JSON.stringify(text)

/** Why the observed run fails the assertion, or null when it passes. */
export function failureOf(assertion: Assertion, observed: Observed): string | null {
  const { output } = observed
  switch (assertion.type) {
    case 'contains':
      return output.includes(assertion.value as string)
        ? null
        : `The output does not contain ${shown(assertion.value as string)}.`
    case 'not_contains':
      return output.includes(assertion.value as string)
        ? `The output contains ${shown(assertion.value as string)}.`
        : null
    case 'equals':
      return output.trim() === (assertion.value as string).trim()
        ? null
        : `The output is not ${shown(assertion.value as string)}.`
    case 'regex': {
      const matched = limited(() => new RegExp(assertion.value as string, 'u').test(output))
      if (matched === TIMED_OUT)
        return `The pattern /${assertion.value}/ took too long on this output (over ${TIME_LIMIT_MS} ms).`
      return matched ? null : `The output does not match /${assertion.value}/.`
    }
    case 'json_schema': {
      let data: unknown
      try {
        data = JSON.parse(output)
      } catch {
        return 'The output is not JSON.'
      }
      const validate = compile(assertion.value as object)
      const valid = limited(() => validate(data))
      if (valid === TIMED_OUT)
        return `The schema took too long on this output (over ${TIME_LIMIT_MS} ms).`
      if (valid) return null
      const [first] = validate.errors ?? []
      const why = first ? `${first.instancePath || '(root)'} ${first.message}` : 'invalid'
      return `The output does not match the schema: ${why}.`
    }
    case 'max_latency_ms':
      return observed.latencyMs <= (assertion.value as number)
        ? null
        : `It took ${observed.latencyMs} ms (at most ${assertion.value} allowed).`
    case 'max_cost_credits': {
      const limit = BigInt(Math.round((assertion.value as number) * 1_000_000))
      return observed.costMicros <= limit
        ? null
        : `It cost ${formatCredits(observed.costMicros)} credits (at most ${assertion.value} allowed).`
    }
  }
}

/** Every failure of a case (empty: it passed). */
export function failuresOf(assertions: Assertion[], observed: Observed) {
  return assertions.map((a) => failureOf(a, observed)).filter((f): f is string => f !== null)
}
