import { test } from '@japa/runner'
import { problem } from '#core'
import {
  ERROR_TYPES,
  errorTypeLabel,
  isErrorType,
  runErrorType,
} from '#agents/services/error_types'

/** The problem document a failure path writes (its title is what classifies it). */
const failed = (status: number, title: string, detail = 'x') => problem(status, detail, { title })

test.group('agents / error types: classification', () => {
  test('each failure path of the executor and recovery maps to its error type', ({ assert }) => {
    const cases: [Record<string, unknown> | null, number | null, string][] = [
      [failed(504, 'Provider timed out'), 504, 'timeout'],
      [failed(504, 'Run timed out', 'The run exceeded 300 s.'), null, 'timeout'],
      [failed(503, 'Provider unavailable'), null, 'provider_unavailable'],
      [failed(502, 'Provider error', 'Simulated rate limit (429).'), 429, 'rate_limited'],
      [failed(502, 'Provider error', 'Simulated upstream error (500).'), 500, 'provider_error'],
      [
        failed(502, 'Provider error', 'The stream ended before the model finished.'),
        502,
        'provider_error',
      ],
      [failed(502, 'Provider error'), 503, 'provider_unavailable'],
      [failed(502, 'Provider error'), 529, 'provider_unavailable'],
      [failed(502, 'Provider error'), 408, 'timeout'],
      [failed(502, 'Provider error', 'The provider answered 400: bad'), 400, 'invalid_request'],
      [failed(502, 'Provider error', 'The API key cannot be decrypted'), 401, 'invalid_request'],
      [failed(502, 'Provider error'), null, 'provider_error'],
      [failed(422, 'Context window exceeded'), null, 'context_window'],
      [failed(422, 'Too many steps'), null, 'max_steps'],
      [failed(422, 'Workflow step failed'), null, 'workflow_error'],
      [failed(403, 'Budget exceeded'), null, 'budget_exceeded'],
      [
        problem(402, 'The next step needs 1 more credits', {
          title: 'Credits exhausted',
          type: '/problems/credits_exhausted',
        }),
        null,
        'insufficient_credits',
      ],
      [failed(503, 'Run not recorded'), null, 'not_recorded'],
      [failed(500, 'Run abandoned', 'No worker took the run in time.'), null, 'abandoned'],
      [failed(500, 'Run abandoned', 'The process running it stopped.'), null, 'abandoned'],
      [failed(500, 'Run abandoned', 'The run exceeded 300 s.'), null, 'timeout'],
      [
        failed(
          500,
          'Run abandoned',
          'The run finished but its outcome could not be recorded; it was not charged.'
        ),
        null,
        'not_recorded',
      ],
      [failed(503, 'Run not started', 'The run could not be queued.'), null, 'abandoned'],
      [failed(503, 'Server shut down'), null, 'abandoned'],
      [failed(500, 'Run failed', 'The run failed unexpectedly.'), null, 'internal_error'],
    ]
    for (const [error, upstream, expected] of cases)
      assert.equal(runErrorType('failed', error, upstream), expected, `${error?.title} ${upstream}`)
  })

  test('unknown or older error shapes are `other`; runs that did not fail have none', ({
    assert,
  }) => {
    assert.equal(runErrorType('failed', null), 'other')
    assert.equal(runErrorType('failed', { message: 'boom' }), 'other')
    assert.equal(runErrorType('failed', { status: 503, message: 'x', breaker: 'open' }), 'other')
    assert.equal(runErrorType('failed', { title: 42 } as any), 'other')
    for (const status of ['succeeded', 'cancelled', 'queued', 'running'])
      assert.isNull(runErrorType(status, failed(504, 'Provider timed out'), 504), status)
  })

  test('the classification is deterministic and only ever gives a listed type', ({ assert }) => {
    const titles = ['Provider error', 'Run abandoned', 'Nope', 'Too many steps', '']
    for (const title of titles)
      for (const upstream of [null, 200, 400, 408, 429, 499, 500, 503, 529, 600]) {
        const first = runErrorType('failed', failed(502, title), upstream)
        assert.equal(runErrorType('failed', failed(502, title), upstream), first)
        assert.isTrue(isErrorType(first), `${title} ${upstream} → ${first}`)
      }
    assert.lengthOf(new Set(ERROR_TYPES), ERROR_TYPES.length)
    for (const type of ERROR_TYPES) {
      assert.match(type, /^[a-z_]{1,40}$/)
      assert.notEqual(errorTypeLabel(type), type, `${type} has a label`)
    }
    assert.equal(errorTypeLabel('made_up'), 'made_up')
    assert.isFalse(isErrorType('made_up'))
  })
})
