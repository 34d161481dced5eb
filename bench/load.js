/*
 * Mixed API at a fixed arrival rate (open loop, issue 11): 40 % GET /api/v1/agents, 20 % GET
 * /api/v1/runs, 15 % GET /api/v1/credits, 15 % GET /api/v1/analytics/usage (last 30 days by day),
 * 10 % POST /api/v1/agents/<simulator agent>/runs {input: "hello bench"}, all with a Bearer token,
 * sent at fixed intended times whether or not earlier requests completed; latency = completion −
 * INTENDED send time (coordinated omission is not hidden). Reference in the same run, at the same
 * rates with the same generator: ../shared/bench-baselines/page.cjs (MODE=app, one tenant-scoped
 * query per page, no framework).
 * Goal at 500/s: p95 ≤ 25 ms, p99 ≤ 60 ms.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/<scratch db> npm run bench:load
 *   DATABASE_URL=… npm run bench:load -- --rates 100,200 --seconds 5
 *
 * PostgreSQL only (REDIS_URL passed through when set). It compiles the app into tmp/bench-load/build
 * (when missing or older than the sources), migrates, creates a user, tenant (10M credits), token
 * and agents (one on simulator/echo for run starts), seeds run history with `bench:seed` (so the
 * run list and usage are not empty), creates the baseline's `items` table when missing, starts the
 * app (NODE_ENV=production, LOG_LEVEL=warn) and page.cjs on core 0 and the open-loop generator
 * (bench/support.js --open-loop, its own process) on core 1, then for each rate: Agora, page.cjs.
 * Afterwards `credits:verify` for the bench tenant; then it removes its tenant and users (and
 * `items` when it created it).
 *
 * Options: --rates 200,300,400,500  --seconds 20 (recorded per rate)  --warmup 3 (sent at the same
 * rate first, not recorded)  --connections 200 (sockets per target)  --timeout 10 (s after the
 * intended time; then counted as error "timeout")  --history 20000 (seeded runs, 0 = none)
 * --agents 5  --no-page (skip the baseline)  --no-build  --no-pin  --help.
 * Exit 0 whether or not the goal is met; 1 when it cannot run.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  freePorts,
  log,
  machineBusy,
  NODE,
  onCore,
  onInterrupt,
  openLoop,
  pinned,
  privateBuild,
  ROOT,
  runAce,
  SERVER_FLAGS,
  sleep,
  startChild,
  stopAll,
  waitIdle,
  waitUntilUp,
  withDb,
} from './support.js'

const BASELINES = process.env.BASELINES || join(ROOT, '..', 'shared', 'bench-baselines')
const GOAL = { rate: 500, p95: 25, p99: 60 }
const MIX = { agents: 40, runs: 20, credits: 15, usage: 15, start: 10 }

const { values: opts } = parseArgs({
  options: {
    'rates': { type: 'string', default: '200,300,400,500' },
    'seconds': { type: 'string', default: '20' },
    'warmup': { type: 'string', default: '3' },
    'connections': { type: 'string', default: '200' },
    'timeout': { type: 'string', default: '10' },
    'history': { type: 'string', default: '20000' },
    'agents': { type: 'string', default: '5' },
    'no-page': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    'pin': { type: 'boolean', default: false }, // the default when taskset works; accepted like bench:overhead's
    'help': { type: 'boolean', short: 'h', default: false },
  },
})
if (opts.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0])
  process.exit(0)
}

const RATES = opts.rates.split(',').map((r) => Number(r.trim()))
const SECONDS = Number(opts.seconds)
const WARMUP = Number(opts.warmup)
const CONNECTIONS = Number(opts.connections)
const TIMEOUT_S = Number(opts.timeout)
const HISTORY = Number(opts.history)
const AGENTS = Number(opts.agents)
const bad = [
  [
    'rates',
    RATES.every((r) => Number.isFinite(r) && r > 0 && r <= 20_000) && RATES.length > 0,
    'a comma-separated list of rates > 0 (req/s)',
  ],
  ['seconds', Number.isFinite(SECONDS) && SECONDS > 0, 'a number > 0'],
  ['warmup', Number.isFinite(WARMUP) && WARMUP >= 0, 'a number ≥ 0'],
  ['connections', Number.isInteger(CONNECTIONS) && CONNECTIONS >= 1, 'an integer ≥ 1'],
  ['timeout', Number.isFinite(TIMEOUT_S) && TIMEOUT_S > 0, 'a number > 0'],
  ['history', Number.isInteger(HISTORY) && HISTORY >= 0, 'an integer ≥ 0'],
  ['agents', Number.isInteger(AGENTS) && AGENTS >= 1 && AGENTS <= 100, 'an integer from 1 to 100'],
].filter(([, ok]) => !ok)
if (bad.length) {
  for (const [name, , what] of bad) console.error(`[bench] --${name} must be ${what}`)
  process.exit(1)
}

const DATABASE_URL = process.env.DATABASE_URL
if (!DATABASE_URL || !/^postgres(ql)?:\/\//.test(DATABASE_URL)) {
  console.error(
    'bench:load needs DATABASE_URL=postgres://… (PostgreSQL): ' +
      'the embedded PGlite serialises every query and would measure itself.'
  )
  process.exit(1)
}
const PAGE = join(BASELINES, 'page.cjs')
if (!opts['no-page'] && !existsSync(PAGE)) {
  console.error(
    `bench:load: ${PAGE} is missing (set BASELINES=<dir>, or --no-page to run without the reference)`
  )
  process.exit(1)
}
const where = (core) => (opts['no-pin'] ? (cmd, args) => [cmd, args] : onCore(core))

/* --------------------------------------------------------------------------------- output */

const ms = (x) =>
  x === null || x === undefined ? '—' : x >= 1000 ? `${(x / 1000).toFixed(2)}s` : x.toFixed(1)
const withUnit = (x) =>
  x === null || x === undefined
    ? '—'
    : x >= 1000
      ? `${(x / 1000).toFixed(2)} s`
      : `${x.toFixed(1)} ms`
const cpu = (x) => (x === null || x === undefined ? '—' : x.toFixed(2))
const pad = (x, n) => String(x).padStart(n)
const errorText = (errors) => {
  const entries = Object.entries(errors).sort((a, b) => b[1] - a[1])
  return entries.length ? entries.map(([what, n]) => `${what}×${n}`).join(' ') : '0'
}
const HEADER =
  `${'target'.padEnd(12)} ${pad('sent', 6)} ${pad('done', 6)} ${pad('2xx/s', 7)} ` +
  `${pad('p50', 7)} ${pad('p95', 7)} ${pad('p99', 7)} ${pad('max', 7)} ` +
  `${pad('srv CPU', 7)} ${pad('gen', 5)} ${pad('rest', 5)} ${pad('load1', 5)} ${pad('lag99', 6)}  errors`
function row(name, r) {
  const l = r.latency.all
  const rest =
    r.machineCpu !== null && r.serverCpu !== null && r.loadCpu !== null
      ? Math.max(0, r.machineCpu - r.serverCpu - r.loadCpu)
      : null
  return (
    `${name.padEnd(12)} ${pad(r.sent, 6)} ${pad(r.completed, 6)} ${pad(r.achieved.toFixed(1), 7)} ` +
    `${pad(ms(l.p50), 7)} ${pad(ms(l.p95), 7)} ${pad(ms(l.p99), 7)} ${pad(ms(l.max), 7)} ` +
    `${pad(cpu(r.serverCpu), 7)} ${pad(cpu(r.loadCpu), 5)} ${pad(cpu(rest), 5)} ` +
    `${pad(r.load1.toFixed(2), 5)} ${pad(ms(r.sendLag.p99), 6)}  ${errorText(r.errors)}`
  )
}
function kindRow(name, k) {
  return (
    `  ${name.padEnd(10)} ${pad(k.n, 6)} ${pad('', 6)} ${pad('', 7)} ` +
    `${pad(ms(k.p50), 7)} ${pad(ms(k.p95), 7)} ${pad(ms(k.p99), 7)} ${pad(ms(k.max), 7)} ` +
    `${''.padStart(7 + 5 + 5 + 5 + 6 + 4)}  ${errorText(k.errors)}`
  )
}

/* ---------------------------------------------------------------------------------- setup */

const cleanups = []
let cleaning = null
/** Removes what the run created, once (at the end, or on Ctrl-C through onInterrupt). */
const cleanUp = () =>
  (cleaning ??= (async () => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error) => console.error('[bench] cleanup failed:', error.message))
  })())
onInterrupt(cleanUp)

function revision() {
  const git = (...args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' })
  const head = git('rev-parse', '--short', 'HEAD')
  if (head.status !== 0) return 'unknown'
  return (
    head.stdout.trim() +
    (git('--no-optional-locks', 'status', '--porcelain', '--untracked-files=no').stdout.trim()
      ? '+dirty'
      : '')
  )
}

/** The baseline's table (500 tenants × 200 rows) when missing; true when this run created it. */
async function ensureItems() {
  return withDb(DATABASE_URL, async (db) => {
    const exists = (await db.query(`SELECT to_regclass('public.items') AS t`)).rows[0].t !== null
    if (exists) {
      const { n } = (
        await db.query('SELECT count(*)::int AS n FROM (SELECT 1 FROM items LIMIT 20) s')
      ).rows[0]
      if (n < 20)
        throw new Error(
          'table items exists but holds fewer than 20 rows: page.cjs would list nothing (drop it and rerun)'
        )
      return false
    }
    await db.query(`
      CREATE TABLE items (tenant_id int, id bigint, title text, created_at timestamptz, PRIMARY KEY (tenant_id, id));
      INSERT INTO items SELECT t, i, 'Item ' || i || ' of tenant ' || t, now() - i * interval '1 minute'
        FROM generate_series(1, 500) t, generate_series(1, 200) i;
      ANALYZE items;`)
    return true
  })
}

async function api(base, token, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await response.text()
  return { status: response.status, text }
}

async function main() {
  const date = new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC'
  const pgVersion = await withDb(
    DATABASE_URL,
    async (db) => (await db.query('SHOW server_version')).rows[0].server_version
  ).catch((error) => {
    throw new Error(`cannot connect to DATABASE_URL: ${error.message}`)
  })
  const idle = await machineBusy(1000)
  log(
    `node ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()}, ` +
      `${os.availableParallelism()} cores, PostgreSQL ${pgVersion}${process.env.REDIS_URL ? ' + Redis' : ''}, ` +
      (pinned && !opts['no-pin'] ? 'servers on core 0, generator on core 1' : 'no pinning')
  )
  const build = privateBuild('bench-load', { noBuild: opts['no-build'] })

  const env = {
    NODE_ENV: 'production',
    APP_KEY: randomBytes(24).toString('base64url'),
    DATABASE_URL,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
  }
  if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL
  const ace = (args) => runAce(args, { cwd: build, env })
  log('migrating')
  ace(['migration:run', '--force'])

  const slug = `load-${randomBytes(3).toString('hex')}`
  const email = `owner@${slug}.bench.test` // bench:seed's members are member<i>@<slug>.bench.test
  cleanups.push(() =>
    withDb(DATABASE_URL, async (db) => {
      await db.query('DELETE FROM tenants WHERE slug = $1', [slug])
      await db.query(`DELETE FROM users WHERE email LIKE '%@' || $1 || '.bench.test'`, [slug])
    })
  )
  log(`creating tenant ${slug}, credits, token`)
  ace(['user:create', email, `--password=${randomBytes(16).toString('hex')}`, '--name=Bench Owner'])
  ace(['tenant:create', slug, `--name=Bench ${slug}`, `--owner=${email}`])
  ace(['credits:grant', slug, '10000000', '--reason=bench:load'])
  const token = ace(['token:create', email, `--tenant=${slug}`])
    .split('\n')
    .pop()
  if (HISTORY > 0) {
    log(`seeding ${HISTORY} runs of history (bench:seed: 20 members, 10 agents, 90 days, rollups)`)
    ace(['bench:seed', `--tenant=${slug}`, `--runs=${HISTORY}`])
  }
  const timeZone = await withDb(
    DATABASE_URL,
    async (db) =>
      (await db.query('SELECT time_zone FROM tenants WHERE slug = $1', [slug])).rows[0].time_zone
  )

  let createdItems = false
  if (!opts['no-page']) {
    createdItems = await ensureItems()
    if (createdItems)
      cleanups.push(() => withDb(DATABASE_URL, (db) => db.query('DROP TABLE IF EXISTS items')))
  }

  const [appPort, pagePort] = await freePorts(2, 3800, 3899)
  log(
    `starting Agora (tmp/bench-load/build) on :${appPort}${opts['no-page'] ? '' : ` and page.cjs on :${pagePort}`}`
  )
  const app = startChild('agora', ...where(0)(NODE, [...SERVER_FLAGS, 'bin/server.js']), {
    cwd: build,
    env: { ...process.env, ...env, PORT: String(appPort) },
  })
  const page = opts['no-page']
    ? null
    : startChild('page.cjs', ...where(0)(NODE, [PAGE]), {
        cwd: ROOT,
        env: {
          ...process.env,
          MODE: 'app',
          PORT: String(pagePort),
          DATABASE_URL,
          POOL: process.env.DB_POOL_MAX || '10',
          NODE_PATH: join(ROOT, 'node_modules'),
        },
      })
  await waitUntilUp(`http://127.0.0.1:${appPort}/health/ready`, app, 120_000)
  if (page) await waitUntilUp(`http://127.0.0.1:${pagePort}/`, page, 20_000)

  const base = `http://127.0.0.1:${appPort}`
  log(`creating ${AGENTS} agent(s) (bench-sim on simulator/echo for run starts)`)
  for (let i = 0; i < AGENTS; i++) {
    const agent =
      i === 0
        ? {
            name: 'Bench simulator',
            slug: 'bench-sim',
            instructions: 'Repeat.',
            model: 'simulator/echo',
            max_tokens: 64,
          }
        : {
            name: `Bench agent ${i}`,
            slug: `bench-agent-${i}`,
            instructions: `You are bench agent ${i}.`,
            model: i % 2 ? 'simulator/lorem' : 'simulator/echo',
            max_tokens: 256,
          }
    const created = await api(base, token, 'POST', '/api/v1/agents', agent)
    if (created.status !== 201)
      throw new Error(
        `creating agent ${agent.slug} failed: ${created.status} ${created.text.slice(0, 500)}`
      )
  }

  const day = (d) =>
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    }).format(d)
  const usagePath =
    `/api/v1/analytics/usage?from=${day(new Date(Date.now() - 29 * 86_400_000))}` +
    `&to=${day(new Date())}&group_by=day`
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' }
  const kinds = {
    agents: { method: 'GET', path: '/api/v1/agents' },
    runs: { method: 'GET', path: '/api/v1/runs' },
    credits: { method: 'GET', path: '/api/v1/credits' },
    usage: { method: 'GET', path: usagePath },
    start: {
      method: 'POST',
      path: '/api/v1/agents/bench-sim/runs',
      body: JSON.stringify({ input: 'hello bench' }),
      headers: { 'content-type': 'application/json' },
    },
  }
  const mix = Object.entries(MIX).map(([name, weight]) => ({
    name,
    weight,
    ...kinds[name],
    headers: { ...headers, ...(kinds[name].headers ?? {}) },
  }))

  // Every kind answers before any load (a broken route must not pass for a fast one), and a few
  // real runs join the seeded history.
  for (const kind of mix) {
    const r = await api(
      base,
      token,
      kind.method,
      kind.path,
      kind.body ? JSON.parse(kind.body) : undefined
    )
    if (r.status < 200 || r.status >= 300)
      throw new Error(`${kind.method} ${kind.path} answered ${r.status}: ${r.text.slice(0, 500)}`)
    const json = JSON.parse(r.text)
    if (kind.name === 'start' && json.status !== 'succeeded')
      throw new Error(`the check run did not succeed: ${r.text.slice(0, 500)}`)
    if (kind.name === 'agents') log(`agents: ${json.data.length} listed`)
    if (kind.name === 'runs') log(`runs: ${json.data.length} on the first page`)
    if (kind.name === 'usage')
      log(`usage: ${json.data.length} day rows, ${json.totals.runs} runs in 30 days`)
  }
  for (let i = 0; i < 20; i++)
    await api(base, token, kinds.start.method, kinds.start.path, { input: 'hello bench' })
  if (page) {
    const r = await fetch(`http://127.0.0.1:${pagePort}/`)
    const html = await r.text()
    if (r.status !== 200 || (html.match(/<tr>/g) ?? []).length !== 20)
      throw new Error(
        `page.cjs answered ${r.status} with ${(html.match(/<tr>/g) ?? []).length} rows: ${html.slice(0, 300)}`
      )
  }
  const startedAt = new Date()

  const targets = [{ name: 'Agora', origin: base, pid: app.pid, mix }]
  if (page)
    targets.push({
      name: 'page.cjs',
      origin: `http://127.0.0.1:${pagePort}`,
      pid: page.pid,
      mix: [{ name: 'page', weight: 1, method: 'GET', path: '/' }],
    })

  console.log(`\n== mixed API at a fixed arrival rate, open loop (bench:load, ${date}) ==`)
  console.log(
    `commit ${revision()}, PostgreSQL ${pgVersion}${env.REDIS_URL ? ' + Redis' : ''}, ` +
      `${os.availableParallelism()} cores, ` +
      `${pinned && !opts['no-pin'] ? 'servers on core 0, generator on core 1' : 'not pinned'}; ` +
      `machine busy before start ${idle === null ? '—' : `${(idle * 100).toFixed(0)} %`}, load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' / ')}`
  )
  console.log(
    `mix: ${Object.entries(MIX)
      .map(([k, w]) => `${w} % ${k}`)
      .join(
        ', '
      )}; ${SECONDS} s recorded per rate after ${WARMUP} s of warm-up at the same rate; ` +
      `≤ ${CONNECTIONS} keep-alive connections; timeout ${TIMEOUT_S} s; ` +
      `${HISTORY} seeded runs, ${AGENTS + (HISTORY > 0 ? 10 : 0)} agents`
  )
  console.log(
    'latency in ms from the INTENDED send time (every request of the window, failed ones included); ' +
      '2xx/s = achieved; CPU in cores (srv = the server process, gen = the generator, ' +
      'rest = everything else incl. PostgreSQL); lag99 = how late the generator sent (p99)'
  )

  const results = []
  for (const rate of RATES) {
    console.log(`\n-- ${rate} req/s --\n${HEADER}`)
    const row_ = { rate }
    for (const target of targets) {
      // Both servers idle first: a saturated one may still be working off requests given up on.
      for (const t of targets) {
        const waited = await waitIdle(t.pid, { below: 0.1, timeoutMs: 60_000 })
        if (waited === null)
          console.log(`  note: ${t.name} was still busy after 60 s of waiting; measuring anyway`)
        else if (waited > 1) log(`waited ${waited.toFixed(0)} s for ${t.name} to become idle`)
      }
      const r = await openLoop(
        {
          origin: target.origin,
          rate,
          seconds: SECONDS,
          warmup: WARMUP,
          connections: CONNECTIONS,
          timeoutMs: TIMEOUT_S * 1000,
          pid: target.pid,
          seed: rate,
          mix: target.mix,
        },
        where(1)
      )
      row_[target.name] = r
      console.log(row(target.name, r))
      if (target.name === 'Agora')
        for (const [name, k] of Object.entries(r.latency.kinds)) console.log(kindRow(name, k))
      if (r.loadCpu !== null && r.loadCpu > 0.8)
        console.log(
          `  warning: the generator used ${r.loadCpu.toFixed(2)} of a core: it may have been short of CPU`
        )
      if (r.sendLag.p99 !== null && r.sendLag.p99 > 5)
        console.log(
          `  warning: the generator sent late (p99 ${withUnit(r.sendLag.p99)}; its core was busy): ` +
            'the latencies include that delay'
        )
    }
    results.push(row_)
  }

  await sleep(1500) // runs settle right after their answers
  const verify = spawnSync(NODE, ['ace', 'credits:verify', slug], {
    cwd: build,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  })
  const runs = await withDb(DATABASE_URL, (db) =>
    db.query(
      `SELECT r.status, count(*)::int AS n FROM runs r JOIN tenants t ON t.id = r.tenant_id
       WHERE t.slug = $1 AND r.created_at >= $2 GROUP BY r.status ORDER BY 2 DESC`,
      [slug, startedAt]
    )
  )

  console.log('\n-- summary: p95 / p99 in ms (errors), Agora beside page.cjs at the same rate --')
  console.log(
    `${pad('rate', 6)}  ${'Agora p95 / p99 (errors, 2xx/s)'.padEnd(38)} ` +
      `${page ? 'page.cjs p95 / p99 (errors)'.padEnd(32) : ''} load1`
  )
  for (const r of results) {
    const a = r.Agora
    const p = r['page.cjs']
    const errs = (x) => Object.values(x.errors).reduce((s, n) => s + n, 0)
    const agoraCell = `${ms(a.latency.all.p95)} / ${ms(a.latency.all.p99)} (${errs(a)}, ${a.achieved.toFixed(0)}/s)`
    const pageCell = p
      ? `${ms(p.latency.all.p95)} / ${ms(p.latency.all.p99)} (${errs(p)})`.padEnd(32)
      : ''
    console.log(`${pad(r.rate, 6)}  ${agoraCell.padEnd(38)} ${pageCell} ${a.load1.toFixed(2)}`)
  }
  console.log(
    'runs started during the measurement (warm-ups included): ' +
      (runs.rows.map((r) => `${r.status} ${r.n}`).join(', ') || 'none')
  )
  const verifyOut = `${verify.stdout}${verify.stderr}`.trim()
  console.log(
    `credits:verify ${slug}: ` +
      (verify.status === 0
        ? 'clean'
        : `VIOLATIONS or failure (exit ${verify.status})\n${verifyOut}`)
  )

  const at = results.find((r) => r.rate === GOAL.rate)
  if (!at) {
    console.log(
      `verdict: goal at ${GOAL.rate}/s (p95 ≤ ${GOAL.p95} ms, p99 ≤ ${GOAL.p99} ms) ` +
        `not judged: ${GOAL.rate} is not in --rates`
    )
  } else {
    const a = at.Agora
    const errors = Object.values(a.errors).reduce((s, n) => s + n, 0)
    const met = a.latency.all.p95 <= GOAL.p95 && a.latency.all.p99 <= GOAL.p99 && errors === 0
    const ref = at['page.cjs']
      ? `; page.cjs at the same rate: p95 ${withUnit(at['page.cjs'].latency.all.p95)}, ` +
        `p99 ${withUnit(at['page.cjs'].latency.all.p99)}`
      : ''
    console.log(
      `verdict: at ${GOAL.rate}/s Agora p95 ${withUnit(a.latency.all.p95)} (goal ≤ ${GOAL.p95} ms), ` +
        `p99 ${withUnit(a.latency.all.p99)} (goal ≤ ${GOAL.p99} ms), ` +
        `${errors} errors, ${a.achieved.toFixed(0)} 2xx/s — goal ${met ? 'MET' : 'NOT MET'} ` +
        `(load average ${a.load1.toFixed(2)}${ref})`
    )
  }
}

try {
  await main()
} catch (error) {
  console.error(`[bench] ${error.message ?? error}`)
  process.exitCode = 1
} finally {
  await stopAll()
  await cleanUp()
}
