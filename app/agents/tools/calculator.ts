import { ToolError } from '#agents/tools/builtin'

/*
 * A recursive-descent evaluator over a closed grammar (no eval, no property access): model text
 * can only ever name the numbers, operators, functions and constants listed here.
 *
 *   expression := term (('+' | '-') term)*
 *   term       := unary (('*' | '/' | '%') unary)*
 *   unary      := ('+' | '-') unary | power
 *   power      := primary ('^' unary)?          right-associative; -2^2 = -(2^2)
 *   primary    := number | constant | function '(' expression (',' expression)* ')' | '(' expression ')'
 */

export const MAX_EXPRESSION_LENGTH = 1000
export const MAX_DEPTH = 64

type Token =
  | { kind: 'number'; value: number; position: number; text: string }
  | { kind: 'name'; text: string; position: number }
  | { kind: 'symbol'; text: string; position: number }
  | { kind: 'end'; text: string; position: number }

const CONSTANTS = new Map<string, number>([
  ['pi', Math.PI],
  ['e', Math.E],
])

type MathFunction = { arity: [number, number]; apply: (...args: number[]) => number }

const FUNCTIONS = new Map<string, MathFunction>([
  ['sqrt', { arity: [1, 1], apply: Math.sqrt }],
  ['abs', { arity: [1, 1], apply: Math.abs }],
  ['round', { arity: [1, 2], apply: round }],
  ['floor', { arity: [1, 1], apply: Math.floor }],
  ['ceil', { arity: [1, 1], apply: Math.ceil }],
  ['min', { arity: [1, Infinity], apply: Math.min }],
  ['max', { arity: [1, Infinity], apply: Math.max }],
  ['log', { arity: [1, 1], apply: Math.log }],
  ['log10', { arity: [1, 1], apply: Math.log10 }],
  ['exp', { arity: [1, 1], apply: Math.exp }],
  ['sin', { arity: [1, 1], apply: Math.sin }],
  ['cos', { arity: [1, 1], apply: Math.cos }],
  ['tan', { arity: [1, 1], apply: Math.tan }],
])

/** round(x) to an integer (halves away from zero), or round(x, digits) to 0–15 decimals. */
function round(value: number, digits = 0) {
  if (!Number.isInteger(digits) || digits < 0 || digits > 15)
    throw new ToolError('round(x, digits) takes a whole number of digits from 0 to 15.')
  const scaled = Math.round(Math.abs(value) * 10 ** digits) / 10 ** digits
  return Math.sign(value) * scaled
}

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/

function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  let index = 0
  while (index < source.length) {
    const char = source[index]
    if (/\s/.test(char)) {
      index++
      continue
    }
    const rest = source.slice(index)
    const number = NUMBER.exec(rest)
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), text: number[0], position: index })
      index += number[0].length
      continue
    }
    const name = NAME.exec(rest)
    if (name) {
      tokens.push({ kind: 'name', text: name[0], position: index })
      index += name[0].length
      continue
    }
    // Anything else is a symbol; the parser reports the unexpected ones where it meets them.
    const symbol = rest.startsWith('**') ? '**' : char
    tokens.push({ kind: 'symbol', text: symbol, position: index })
    index += symbol.length
  }
  tokens.push({ kind: 'end', text: 'end of expression', position: source.length })
  return tokens
}

class Parser {
  #tokens: Token[]
  #index = 0
  #depth = 0

  constructor(tokens: Token[]) {
    this.#tokens = tokens
  }

  parse() {
    const value = this.#expression()
    const next = this.#peek()
    if (next.kind !== 'end') throw this.#unexpected(next)
    return value
  }

  #peek() {
    return this.#tokens[this.#index]
  }

  #next() {
    return this.#tokens[this.#index++]
  }

  #isSymbol(...symbols: string[]) {
    const token = this.#peek()
    return token.kind === 'symbol' && symbols.includes(token.text)
  }

  #expect(symbol: string) {
    const token = this.#next()
    if (token.kind !== 'symbol' || token.text !== symbol)
      throw new ToolError(
        `Syntax error at position ${token.position + 1}: expected "${symbol}" but found ${describe(token)}.`
      )
  }

  #unexpected(token: Token) {
    if (token.kind === 'symbol' && token.text === '**')
      return new ToolError(`Syntax error at position ${token.position + 1}: use ^ for powers.`)
    return new ToolError(
      `Syntax error at position ${token.position + 1}: unexpected ${describe(token)}.`
    )
  }

  // Every nesting step (parenthesis, function argument, unary sign, power) goes through here.
  #nested<T>(parse: () => T): T {
    if (++this.#depth > MAX_DEPTH)
      throw new ToolError(`The expression is nested too deeply (more than ${MAX_DEPTH} levels).`)
    try {
      return parse()
    } finally {
      this.#depth--
    }
  }

  #expression(): number {
    let value = this.#term()
    while (this.#isSymbol('+', '-')) {
      const operator = this.#next().text
      const right = this.#term()
      value = finite(operator === '+' ? value + right : value - right)
    }
    return value
  }

  #term(): number {
    let value = this.#unary()
    while (this.#isSymbol('*', '/', '%')) {
      const operator = this.#next().text
      const right = this.#unary()
      if (operator === '*') value = finite(value * right)
      else if (right === 0)
        throw new ToolError(operator === '/' ? 'Division by zero.' : 'Modulo by zero.')
      else value = finite(operator === '/' ? value / right : value % right)
    }
    return value
  }

  #unary(): number {
    if (this.#isSymbol('+', '-')) {
      const sign = this.#next().text
      const value = this.#nested(() => this.#unary())
      return sign === '-' ? -value : value
    }
    return this.#power()
  }

  #power(): number {
    const base = this.#primary()
    if (!this.#isSymbol('^')) return base
    this.#next()
    const exponent = this.#nested(() => this.#unary())
    if (base === 0 && exponent < 0) throw new ToolError('Division by zero (0 to a negative power).')
    return finite(base ** exponent, `${base} ^ ${exponent}`)
  }

  #primary(): number {
    const token = this.#next()
    if (token.kind === 'number') return finite(token.value, token.text)
    if (token.kind === 'symbol' && token.text === '(') {
      const value = this.#nested(() => this.#expression())
      this.#expect(')')
      return value
    }
    if (token.kind === 'name') {
      const key = token.text.toLowerCase()
      const fn = FUNCTIONS.get(key)
      if (fn) return this.#call(key, fn)
      const constant = CONSTANTS.get(key)
      if (constant !== undefined) return constant
      throw new ToolError(
        `Unknown identifier "${token.text}" at position ${token.position + 1}. ` +
          `Known: ${[...CONSTANTS.keys(), ...FUNCTIONS.keys()].join(', ')}.`
      )
    }
    throw this.#unexpected(token)
  }

  #call(name: string, fn: MathFunction) {
    if (!this.#isSymbol('(')) {
      const token = this.#peek()
      throw new ToolError(
        `Syntax error at position ${token.position + 1}: ${name} must be followed by "(".`
      )
    }
    this.#next()
    const args: number[] = []
    if (!this.#isSymbol(')')) {
      args.push(this.#nested(() => this.#expression()))
      while (this.#isSymbol(',')) {
        this.#next()
        args.push(this.#nested(() => this.#expression()))
      }
    }
    this.#expect(')')
    const [least, most] = fn.arity
    if (args.length < least || args.length > most) {
      const expected =
        least === most
          ? `${least}`
          : most === Infinity
            ? `at least ${least}`
            : `${least} or ${most}`
      throw new ToolError(`${name}() takes ${expected} argument(s), not ${args.length}.`)
    }
    return finite(fn.apply(...args), `${name}(${args.join(', ')})`)
  }
}

function describe(token: Token) {
  return token.kind === 'end' ? 'the end of the expression' : `"${token.text}"`
}

function finite(value: number, what?: string) {
  if (Number.isFinite(value)) return value
  throw new ToolError(
    what
      ? `${what} is not a finite number.`
      : 'The result is not a finite number (it overflows or is undefined).'
  )
}

/**
 * Evaluates an arithmetic expression; any problem is a ToolError. A non-integer result is given
 * to 15 significant digits, so binary noise (0.1 + 0.2) does not reach the model.
 */
export function calculate(expression: string): { result: number } {
  if (expression.length > MAX_EXPRESSION_LENGTH)
    throw new ToolError(`The expression is longer than ${MAX_EXPRESSION_LENGTH} characters.`)
  if (expression.trim() === '') throw new ToolError('The expression is empty.')
  const value = new Parser(tokenize(expression)).parse()
  const result = Number.isInteger(value) ? value : Number(value.toPrecision(15))
  // -0 is an artefact, not an answer.
  return { result: result === 0 ? 0 : result }
}
