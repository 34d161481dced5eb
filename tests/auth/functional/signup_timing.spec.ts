import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import { Session } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]

test.group('auth / sign-up timing', () => {
  test('a registered address answers about as slowly as a new one (no account enumeration by time)', async ({
    client,
    assert,
  }) => {
    const existing = [await UserFactory.create(), await UserFactory.create()]
    const timed = async (email: string) => {
      const browser = new Session(client)
      await browser.get('/signup')
      const started = performance.now()
      const response = await browser.submit('POST', '/signup', {
        name: 'Timing Probe',
        email,
        password: 'a sufficiently long passphrase',
      })
      const elapsed = performance.now() - started
      assert.equal(response.header('location'), '/login')
      return elapsed
    }
    const fresh: number[] = []
    const taken: number[] = []
    // Interleaved, so drift on a busy machine hits both sides alike; two registered addresses
    // stay under the per-address sign-up limit (5).
    for (let i = 0; i < 8; i++) {
      fresh.push(await timed(`probe-${randomUUID()}@example.test`))
      taken.push(await timed(existing[i % 2].email))
    }
    const ratio = median(taken) / median(fresh)
    // Without the equalising hash a taken address answers in a small fraction of the time.
    const seen = `taken ${median(taken).toFixed(1)} ms vs new ${median(fresh).toFixed(1)} ms`
    assert.isAbove(ratio, 0.5, seen)
    assert.isBelow(ratio, 2, seen)
  }).timeout(60_000)
})
