/*
 * Paired A/B of what a dashboard page costs the web process: this checkout ("new") and a
 * baseline checkout ("old", e.g. a git worktree of an earlier commit with node_modules linked)
 * serve the same seeded scratch database at once; one request at a time alternates between them
 * (the order flipped every pair; ports swap every round, start order every other round) and each
 * process's CPU time (user + system, /proc) per page is compared. Drift of the machine hits both
 * alike: on these 2 shared cores its rounds agreed within ~10 %, where throughput runs of the
 * same code moved ±20 %; run rounds in fours.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:analytics-ab -- \
 *     --baseline ../old [--db agora_bench_analytics --slug bench-analytics --cached 3000 \
 *     --uncached 600 --rounds 4]
 *
 * The database is the one `npm run bench:analytics` seeds (its owner signs in). Phases per
 * round: --cached loads of the 90-day dashboard, then --uncached distinct custom ranges (new to
 * both processes). Prints each round's CPU per page and the new/old ratios; records nothing.
 * Exit code 1 only when the benchmark could not run.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import {
  CLK_TCK,
  formLogin,
  freePorts,
  log,
  median,
  NODE,
  processTicks,
  ROOT,
  SERVER_FLAGS,
  startChild,
  stopAll,
  waitUntilUp,
} from './support.js'

const { values: opts } = parseArgs({
  options: {
    baseline: { type: 'string' },
    db: { type: 'string', default: 'agora_bench_analytics' },
    slug: { type: 'string', default: 'bench-analytics' },
    cached: { type: 'string', default: '3000' },
    uncached: { type: 'string', default: '600' },
    rounds: { type: 'string', default: '4' },
  },
})
if (!process.env.DATABASE_URL || !opts.baseline) {
  console.error('[bench] needs DATABASE_URL (a PostgreSQL server) and --baseline DIR')
  process.exit(1)
}
const baseline = resolve(opts.baseline)
if (!existsSync(join(baseline, 'bin/server.ts'))) {
  console.error(`[bench] ${baseline} is not a checkout of this app`)
  process.exit(1)
}
const url = Object.assign(new URL(process.env.DATABASE_URL), { pathname: `/${opts.db}` })
const env = {
  ...process.env,
  DATABASE_URL: url.toString(),
  APP_KEY: randomBytes(24).toString('hex'),
  LOG_LEVEL: 'warn',
  TZ: 'UTC',
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
}
delete env.REDIS_URL

async function start(name, root, port) {
  const child = startChild(
    name,
    NODE,
    [...SERVER_FLAGS, '--import=@poppinss/ts-exec', 'bin/server.ts'],
    { cwd: root, env: { ...env, PORT: String(port) } }
  )
  const base = `http://127.0.0.1:${port}`
  await waitUntilUp(`${base}/health/live`, child, 60_000)
  const email = `owner@${opts.slug}.bench.test`
  return { name, child, base, cookie: await formLogin(base, email, `bench ${email} passphrase`) }
}

const day = (offset) => new Date(Date.now() - offset * 86_400_000).toISOString().slice(0, 10)
const dashboard = `/t/${opts.slug}/analytics`
const phases = [
  ['cached', Number(opts.cached), () => `${dashboard}?range=90d`],
  // Custom ranges of 60–90 days, each new to both processes (offset per round).
  [
    'uncached',
    Number(opts.uncached),
    (i, round) => {
      const n = i + round * Number(opts.uncached)
      return `${dashboard}?range=custom&from=${day(89 - (n % 30))}&to=${day(Math.floor(n / 30) % 60)}`
    },
  ],
]

async function load(app, path) {
  const response = await fetch(app.base + path, { headers: { cookie: app.cookie } })
  await response.arrayBuffer()
  if (response.status !== 200) throw new Error(`${app.name} ${path} answered ${response.status}`)
}

async function main() {
  const ratios = { cached: [], uncached: [] }
  for (let round = 0; round < Number(opts.rounds); round++) {
    const [first, second] = await freePorts(2, 3600, 3699)
    // Ports swap every round, the start order every other round: with both fixed, two copies
    // of one checkout measured ~5 % apart.
    const ports = round % 2 ? [second, first] : [first, second]
    const starts = [() => start('new', ROOT, ports[0]), () => start('old', baseline, ports[1])]
    const oldFirst = Math.floor(round / 2) % 2 === 1
    const apps = []
    for (const begin of oldFirst ? [...starts].reverse() : starts) apps.push(await begin())
    if (oldFirst) apps.reverse()
    for (let i = 0; i < 30; i++) for (const app of apps) await load(app, phases[0][2](i, round))
    const line = []
    for (const [name, count, path] of phases) {
      const before = apps.map((app) => processTicks(app.child.pid))
      for (let i = 0; i < count; i++)
        for (const app of i % 2 ? [...apps].reverse() : apps) await load(app, path(i, round))
      const perPage = apps.map(
        (app, k) => (((processTicks(app.child.pid) - before[k]) / CLK_TCK) * 1000) / count
      )
      ratios[name].push(perPage[0] / perPage[1])
      const [now, then] = perPage
      const ratio = (now / then).toFixed(3)
      line.push(`${name} ${then.toFixed(2)} → ${now.toFixed(2)} ms CPU/page (×${ratio})`)
    }
    const setup = `new on ${ports[0]}, old on ${ports[1]}, ${oldFirst ? 'old' : 'new'} started first`
    log(`round ${round + 1} (${setup}): ${line.join('; ')}`)
    await stopAll()
  }
  log(
    `new/old CPU per page, median of ${opts.rounds} rounds: cached ×${median(ratios.cached).toFixed(3)}, ` +
      `uncached ×${median(ratios.uncached).toFixed(3)}`
  )
}

main().catch(async (error) => {
  log(error.stack ?? error.message)
  await stopAll()
  process.exit(1)
})
