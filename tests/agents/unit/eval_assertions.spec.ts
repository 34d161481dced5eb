import { test } from '@japa/runner'
import { InvalidInputException } from '#core'
import { failuresOf, parseAssertions } from '#agents/evals/assertions'

const observed = (output: string, latencyMs = 100, costMicros = 1_500n) => ({
  output,
  latencyMs,
  costMicros,
})

function refusal(raw: unknown) {
  try {
    parseAssertions(raw, 'cases.0.assertions')
  } catch (error) {
    if (error instanceof InvalidInputException)
      return { field: error.field, message: error.message }
    throw error
  }
  return null
}

test.group('agents / evaluations: assertions', () => {
  test('each kind passes and fails on what it checks, saying why', ({ assert }) => {
    const cases: [string, unknown, string, string, RegExp][] = [
      ['contains', 'Lyon', 'Ships from Lyon.', 'Ships from Paris.', /does not contain "Lyon"/],
      ['not_contains', 'sorry', 'Here it is.', 'I am sorry.', /contains "sorry"/],
      ['regex', '^\\d{3}-\\d{4}$', '555-1234', 'call 555-1234', /does not match/],
      ['equals', 'yes', '  yes\n', 'yes!', /is not "yes"/],
      [
        'json_schema',
        { type: 'object', required: ['city'], properties: { city: { type: 'string' } } },
        '{"city":"Lyon"}',
        '{"town":"Lyon"}',
        /does not match the schema: \(root\) must have required property 'city'/,
      ],
    ]
    for (const [type, value, good, bad, why] of cases) {
      const assertions = parseAssertions([{ type, value }], 'a')
      assert.deepEqual(failuresOf(assertions, observed(good)), [], type)
      const failures = failuresOf(assertions, observed(bad))
      assert.lengthOf(failures, 1, type)
      assert.match(failures[0], why, type)
    }
    const schema = parseAssertions([{ type: 'json_schema', value: { type: 'object' } }], 'a')
    assert.deepEqual(failuresOf(schema, observed('not json')), ['The output is not JSON.'])

    const latency = parseAssertions([{ type: 'max_latency_ms', value: 200 }], 'a')
    assert.deepEqual(failuresOf(latency, observed('x', 200)), [])
    assert.match(failuresOf(latency, observed('x', 201))[0], /took 201 ms \(at most 200/)

    const cost = parseAssertions([{ type: 'max_cost_credits', value: 0.0015 }], 'a')
    assert.deepEqual(failuresOf(cost, observed('x', 1, 1_500n)), [])
    assert.match(failuresOf(cost, observed('x', 1, 1_501n))[0], /cost 0\.001501 credits/)

    // Every failing assertion is reported, not only the first.
    const both = parseAssertions(
      [
        { type: 'contains', value: 'a' },
        { type: 'contains', value: 'b' },
      ],
      'a'
    )
    assert.lengthOf(failuresOf(both, observed('c')), 2)
  })

  test('a pattern that backtracks without end fails the case in about 100 ms instead of blocking the server', ({
    assert,
  }) => {
    const assertions = parseAssertions([{ type: 'regex', value: '^(a+)+$' }], 'a')
    const started = Date.now()
    const [failure] = failuresOf(assertions, observed(`${'a'.repeat(40)}b`))
    assert.isBelow(Date.now() - started, 1000)
    assert.match(failure, /took too long/)
    const schema = parseAssertions(
      [{ type: 'json_schema', value: { type: 'string', pattern: '^(a+)+$' } }],
      'a'
    )
    assert.match(failuresOf(schema, observed(JSON.stringify(`${'a'.repeat(40)}b`)))[0], /too long/)
  })

  test('bad definitions are refused on the field that is wrong', ({ assert }) => {
    assert.deepInclude(refusal([]), { field: 'cases.0.assertions' })
    assert.deepInclude(refusal('contains'), { field: 'cases.0.assertions' })
    assert.deepInclude(refusal([{ type: 'similar', value: 'x' }]), {
      field: 'cases.0.assertions.0.type',
    })
    for (const bad of [
      { type: 'contains', value: '' },
      { type: 'contains', value: 42 },
      { type: 'regex', value: '(' },
      { type: 'regex', value: 'x'.repeat(501) },
      { type: 'json_schema', value: 'object' },
      { type: 'json_schema', value: { type: 'no-such-type' } },
      { type: 'max_latency_ms', value: -1 },
      { type: 'max_latency_ms', value: 1.5 },
      { type: 'max_cost_credits', value: '1' },
    ])
      assert.deepInclude(
        refusal([{ type: 'contains', value: 'ok' }, bad]),
        {
          field: 'cases.0.assertions.1.value',
        },
        JSON.stringify(bad)
      )
    assert.match(
      refusal([{ type: 'regex', value: '(' }])!.message,
      /Not a valid regular expression/
    )
    assert.deepInclude(
      refusal(Array.from({ length: 21 }, () => ({ type: 'contains', value: 'a' }))),
      {
        field: 'cases.0.assertions',
      }
    )
  })
})
