/*
 * Password hashing cost and the login throughput it allows: Argon2id with the app's parameters
 * (config/hash.ts: m=19456 KiB, t=2, p=1), measured with the same `argon2` binding the app uses.
 *
 *   npm run bench:auth [-- --hashes 40 --concurrency 8 --seconds 5]
 *
 * Prints the median/p95 time of one hash and verifications per second at the given concurrency
 * (libuv's thread pool runs them; UV_THREADPOOL_SIZE applies). Goals (issue 3): ≤ 25 ms per hash,
 * ≥ 80 logins/s. A login is one verification plus a few queries, so verifications/s bound it.
 */
import { parseArgs } from 'node:util'
import { requireFromProject, median } from './support.js'

const argon2 = requireFromProject('argon2')
const { values: opts } = parseArgs({
  options: {
    hashes: { type: 'string', default: '40' },
    concurrency: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '5' },
  },
})
const params = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 }

const times = []
let hash
for (let i = 0; i < Number(opts.hashes); i++) {
  const started = performance.now()
  hash = await argon2.hash(`password-${i}`, params)
  times.push(performance.now() - started)
}
times.sort((a, b) => a - b)
const p95 = times[Math.floor(times.length * 0.95)]

let verified = 0
const deadline = performance.now() + Number(opts.seconds) * 1000
await Promise.all(
  Array.from({ length: Number(opts.concurrency) }, async () => {
    while (performance.now() < deadline) {
      await argon2.verify(hash, `password-${Number(opts.hashes) - 1}`)
      verified++
    }
  })
)
const perSecond = verified / Number(opts.seconds)
console.log(
  `Argon2id m=19456 t=2 p=1: median ${median(times).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms per hash (goal ≤ 25 ms)`
)
console.log(
  `verifications/s at concurrency ${opts.concurrency}: ${perSecond.toFixed(0)} (goal ≥ 80 logins/s)`
)
