/*
 * Cost of row-level security (issue 14): the same build served twice, `TENANT_RLS=off` (app-level
 * scoping only) vs the default (every tenant GET runs in one transaction whose BEGIN binds the
 * tenant and the app role; tenant write transactions bound the same way), under
 *   - the API mix of bench:load (per 20 requests: 8 GET /api/v1/agents, 4 GET /api/v1/runs,
 *     3 GET /api/v1/credits, 3 GET /api/v1/analytics/usage, 2 POST /api/v1/agents/<sim>/runs),
 *   - the members page (/t/<slug>/members: session, CSRF, tenant middleware, two queries, Edge).
 * The raw reference runs in the same rounds: ../shared/bench-baselines/page.cjs in its modes app,
 * rls and rlspipe.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:rls \
 *     [-- --rounds 5 --duration 5 --warmup 3 --connections 50 --db agora_bench_rls --no-build]
 *
 * 1. (re)creates the scratch database --db on DATABASE_URL's server, migrates it and seeds one
 *    workspace with 20 members, 5 pending invitations, credits, an API token and a simulator
 *    agent, plus the baseline's `items` table (500 tenants × 200 rows, RLS policy, a
 *    non-superuser role for the rls modes);
 * 2. compiles the app into tmp/bench-rls/build (--no-build reuses it), starts it twice
 *    (NODE_ENV=production, same APP_KEY so one session cookie works on both) and the three
 *    baselines, all on core 0 when taskset works;
 * 3. autocannon runs in a separate process on core 1; interleaved rounds;
 * 4. prints medians and the per-round ratios; goal: API mix with RLS ≥ 0.85× without.
 *
 * Ports come from 3500–3599 (never 3333). Exit code 1 only when the benchmark could not run.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  CLK_TCK,
  freePorts,
  log,
  machineBusy,
  median,
  NODE,
  onCore,
  pinned,
  privateBuild,
  processTicks,
  requireFromProject,
  ROOT,
  round,
  SERVER_FLAGS,
  startChild,
  stopAll,
  waitUntilUp,
} from './support.js'
import { databaseUrl, login, prepareWorkspace, query } from './workspace.js'

const SELF = fileURLToPath(import.meta.url)
const PAGE = process.env.PAGE_BASELINE || join(ROOT, '..', 'shared', 'bench-baselines', 'page.cjs')
const GOAL = 0.85

/* ------------------------------------------------------------------------------- options */

const { values: opts } = parseArgs({
  options: {
    'rounds': { type: 'string', default: '5' },
    'duration': { type: 'string', default: '5' },
    'warmup': { type: 'string', default: '3' },
    'connections': { type: 'string', default: '50' },
    'db': { type: 'string', default: 'agora_bench_rls' },
    'no-build': { type: 'boolean', default: false },
    'help': { type: 'boolean', short: 'h', default: false },
  },
})
if (opts.help) {
  console.log(readFileSync(SELF, 'utf8').split('*/')[0])
  process.exit(0)
}
const ROUNDS = Number(opts.rounds)
const DURATION = Number(opts.duration)
const WARMUP = Number(opts.warmup)
const CONNECTIONS = Number(opts.connections)
const DB_NAME = opts.db
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(DB_NAME))
  throw new Error(`--db must be a plain database name, not "${DB_NAME}"`)
if (!process.env.DATABASE_URL) {
  console.error(
    '[bench] DATABASE_URL must point at a PostgreSQL server (the embedded PGlite is not for benchmarks)'
  )
  process.exit(1)
}
const pg = requireFromProject('pg')

const serverUrl = new URL(process.env.DATABASE_URL)
const urlFor = databaseUrl
const BENCH_URL = urlFor(DB_NAME)
let BUILD
const PAGE_ROLE = 'agora_bench_page'
const PAGE_ROLE_PASSWORD = 'bench-page'
const SLUG = 'bench'

/* ------------------------------------------------------------------------ database set-up */

async function prepareDatabase(appKey) {
  const { token } = await prepareWorkspace({
    database: DB_NAME,
    appKey,
    slug: SLUG,
    reason: 'bench:rls',
    members: true,
    items: true,
  })
  // The rls modes of page.cjs connect as a role the items policy binds (not the owner).
  await query(
    BENCH_URL,
    `DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${PAGE_ROLE}') THEN
          CREATE ROLE ${PAGE_ROLE} LOGIN PASSWORD '${PAGE_ROLE_PASSWORD}' NOSUPERUSER NOBYPASSRLS;
        END IF;
      END $$;
      GRANT CONNECT ON DATABASE ${DB_NAME} TO ${PAGE_ROLE};
      GRANT SELECT ON items TO ${PAGE_ROLE};`
  )
  return token
}

/** The API mix of bench:load, as one cycle of 20 requests each connection repeats. */
function apiMix(token) {
  const day = (d) => d.toISOString().slice(0, 10)
  const usage =
    `/api/v1/analytics/usage?from=${day(new Date(Date.now() - 29 * 86_400_000))}` +
    `&to=${day(new Date())}&group_by=day`
  const get = (path) => ({ method: 'GET', path })
  const start = {
    method: 'POST',
    path: '/api/v1/agents/bench-sim/runs',
    body: JSON.stringify({ input: 'hello bench' }),
    headers: { 'content-type': 'application/json' },
  }
  const cycle = [
    ...Array(8).fill(get('/api/v1/agents')),
    ...Array(4).fill(get('/api/v1/runs')),
    ...Array(3).fill(get('/api/v1/credits')),
    ...Array(3).fill(get(usage)),
    start,
    start,
  ]
  // Interleaved so that no stretch of a round is all writes or all of one read.
  const order = [0, 8, 12, 15, 18, 1, 9, 13, 16, 2, 10, 14, 17, 3, 11, 19, 4, 5, 6, 7]
  return {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    requests: order.map((i) => cycle[i]),
  }
}

/* -------------------------------------------------------------------------------- servers */

async function startApp(name, port, appKey, extraEnv) {
  const [cmd, args] = onCore(0)(NODE, [...SERVER_FLAGS, 'bin/server.js'])
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    APP_KEY: appKey,
    LOG_LEVEL: 'warn',
    DATABASE_URL: BENCH_URL,
    ...extraEnv,
  }
  delete env.REDIS_URL // sessions in the cookie, cache in memory: the same for both modes
  if (!extraEnv.TENANT_RLS) delete env.TENANT_RLS // the default: bound
  const child = startChild(name, cmd, args, { cwd: BUILD, env })
  await waitUntilUp(`http://127.0.0.1:${port}/health/live`, child, 120_000)
  return child
}

async function startPage(mode, port) {
  // `app` connects as the owner (no policy applies, like app-only scoping); the rls modes as a
  // role the policy binds.
  const url = mode === 'app' ? BENCH_URL : urlFor(DB_NAME, PAGE_ROLE, PAGE_ROLE_PASSWORD)
  const [cmd, args] = onCore(0)(NODE, [PAGE])
  const child = startChild(`page ${mode}`, cmd, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      MODE: mode,
      PORT: String(port),
      DATABASE_URL: url,
      POOL: process.env.DB_POOL_MAX || '10',
      NODE_PATH: join(ROOT, 'node_modules'),
    },
  })
  await waitUntilUp(`http://127.0.0.1:${port}/`, child, 15_000)
  return child
}

/* ----------------------------------------------------------------------------------- main */

const fmt = (x, digits = 0) =>
  x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits)
const pad = (s, n) => String(s).padStart(n)
const HEADER =
  `${'target'.padEnd(16)} ${pad('req/s', 8)} ${pad('p50ms', 6)} ${pad('p99ms', 6)} ${pad('srvCPU', 7)} ` +
  `${pad('µs/req', 8)} ${pad('dbµs/req', 9)} ${pad('loadCPU', 7)} ${pad('bad', 5)}`
const ROW = (r) =>
  `${r.target.padEnd(16)} ${pad(fmt(r.rps), 8)} ${pad(fmt(r.p50), 6)} ${pad(fmt(r.p99), 6)} ` +
  `${pad(fmt(r.serverCpu, 2), 7)} ${pad(fmt(r.usPerReq, 1), 8)} ${pad(fmt(r.dbUs, 1), 9)} ` +
  `${pad(fmt(r.loadCpu, 2), 7)} ${pad(r.bad, 5)}`

/**
 * CPU ticks used so far by the PostgreSQL backends serving the bench database (local server
 * only: the backends' /proc entries). RLS moves work into the database; the app's CPU alone
 * would not show it.
 */
async function backendTicks(admin) {
  const { rows } = await admin.query(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [DB_NAME]
  )
  return new Map(rows.map((row) => [row.pid, processTicks(row.pid)]))
}

/** One round with the database's CPU per request added (`dbUs`, null when not measurable). */
async function measuredRound(admin, target, seconds) {
  const before = await backendTicks(admin)
  const row = await round(target, CONNECTIONS, seconds)
  const after = await backendTicks(admin)
  let ticks = 0
  let known = after.size > 0
  for (const [pid, now] of after) {
    if (now === null) known = false
    else ticks += now - (before.get(pid) ?? 0) // a backend born in the round counts whole
  }
  const dbUs = known && row.requests ? (ticks / CLK_TCK / row.requests) * 1e6 : null
  return {
    ...row,
    dbUs,
    totalUs: dbUs !== null && row.usPerReq !== null ? row.usPerReq + dbUs : null,
  }
}

async function main() {
  const appKey = randomBytes(32).toString('base64url')
  log(
    `node ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()}, ` +
      `${os.availableParallelism()} cores, ` +
      (pinned ? 'servers on core 0, load on core 1' : 'no pinning (taskset unavailable)')
  )
  const pgVersion = (await query(urlFor('postgres'), 'SHOW server_version')).rows[0].server_version
  // Other processes on this machine skew every figure; say how busy it was before we started.
  const idleBusy = await machineBusy(2000)
  log(`PostgreSQL ${pgVersion} at ${serverUrl.host}`)
  BUILD = privateBuild('bench-rls', { noBuild: opts['no-build'] })
  const token = await prepareDatabase(appKey)

  const [appPort, rlsPort, pageAppPort, pageRlsPort, pagePipePort] = await freePorts(5, 3511, 3599)
  log(
    `starting the app twice (TENANT_RLS=off :${appPort}, default with RLS :${rlsPort}) and page.cjs ×3`
  )
  const app = await startApp('app', appPort, appKey, { TENANT_RLS: 'off' })
  const appRls = await startApp('app+rls', rlsPort, appKey, {})
  const pageApp = await startPage('app', pageAppPort)
  const pageRls = await startPage('rls', pageRlsPort)
  const pagePipe = await startPage('rlspipe', pagePipePort)

  const created = await fetch(`http://127.0.0.1:${appPort}/api/v1/agents`, {
    method: 'POST',
    headers: {
      'authorization': `Bearer ${token}`,
      'content-type': 'application/json',
      'accept': 'application/json',
    },
    body: JSON.stringify({
      name: 'Bench simulator',
      slug: 'bench-sim',
      instructions: 'Repeat.',
      model: 'simulator/echo',
      max_tokens: 64,
    }),
  })
  if (created.status !== 201)
    throw new Error(`creating the bench agent failed: ${created.status} ${await created.text()}`)
  const mix = apiMix(token)

  const cookie = await login(`http://127.0.0.1:${appPort}`)
  const admin = new pg.Client({ connectionString: urlFor('postgres') })
  await admin.connect()
  const path = `/t/${SLUG}/members`
  const targets = [
    { name: 'api', url: `http://127.0.0.1:${appPort}`, pid: app.pid, ...mix },
    { name: 'api+rls', url: `http://127.0.0.1:${rlsPort}`, pid: appRls.pid, ...mix },
    { name: 'app', url: `http://127.0.0.1:${appPort}${path}`, pid: app.pid, headers: { cookie } },
    {
      name: 'app+rls',
      url: `http://127.0.0.1:${rlsPort}${path}`,
      pid: appRls.pid,
      headers: { cookie },
    },
    { name: 'page app', url: `http://127.0.0.1:${pageAppPort}/`, pid: pageApp.pid },
    { name: 'page rls', url: `http://127.0.0.1:${pageRlsPort}/`, pid: pageRls.pid },
    { name: 'page rlspipe', url: `http://127.0.0.1:${pagePipePort}/`, pid: pagePipe.pid },
  ]
  for (const target of targets) {
    if (target.requests) {
      // Every request of the mix answers 2xx before any load (a broken route is not a fast one).
      for (const request of new Map(target.requests.map((r) => [r.path, r])).values()) {
        const response = await fetch(`${target.url}${request.path}`, {
          method: request.method,
          headers: { ...target.headers, ...request.headers },
          body: request.body,
        })
        if (response.status >= 300)
          throw new Error(`${target.name} ${request.method} ${request.path}: ${response.status}`)
      }
      log(`${target.name}: ${target.requests.length} requests per cycle, each answers 2xx`)
      continue
    }
    const response = await fetch(target.url, { headers: target.headers ?? {}, redirect: 'manual' })
    const body = await response.text()
    if (response.status !== 200)
      throw new Error(
        `${target.name} ${target.url} answered ${response.status}: ${body.slice(0, 200)}`
      )
    const rows = (body.match(/data-testid="member-row"/g) ?? body.match(/<tr>/g) ?? []).length
    log(`${target.name}: 200, ${body.length} bytes, ${rows} rows`)
  }

  if (WARMUP > 0) {
    log(`warm-up: ${WARMUP}s per target`)
    for (const target of targets) await measuredRound(admin, target, WARMUP)
  }
  console.log(
    `\n${ROUNDS} interleaved rounds × ${DURATION}s, ${CONNECTIONS} connections\n\nround ${HEADER}`
  )
  const rows = []
  for (let i = 1; i <= ROUNDS; i++) {
    for (const target of targets) {
      const row = { round: i, ...(await measuredRound(admin, target, DURATION)) }
      rows.push(row)
      console.log(`${pad(i, 5)} ${ROW(row)}`)
    }
  }

  const of = (name) => rows.filter((r) => r.target === name)
  const summary = targets.map((t) => {
    const rs = of(t.name)
    const pick = (key) => (rs.every((r) => r[key] !== null) ? median(rs.map((r) => r[key])) : null)
    return {
      target: t.name,
      rps: pick('rps'),
      p50: pick('p50'),
      p99: pick('p99'),
      serverCpu: pick('serverCpu'),
      usPerReq: pick('usPerReq'),
      dbUs: pick('dbUs'),
      totalUs: pick('totalUs'),
      loadCpu: pick('loadCpu'),
      bad: rs.reduce((s, r) => s + r.bad, 0),
    }
  })
  const ratio = (a, b) => {
    const paired = of(a).map((r, i) => r.rps / of(b)[i].rps)
    const sa = summary.find((s) => s.target === a)
    const sb = summary.find((s) => s.target === b)
    // Per-round paired CPU ratios (app + its database backends), steadier than req/s on a busy machine.
    const pairedCpu = of(a)
      .map((r, i) => (r.totalUs && of(b)[i].totalUs ? of(b)[i].totalUs / r.totalUs : null))
      .filter((x) => x !== null)
    return {
      median: median(paired),
      min: Math.min(...paired),
      max: Math.max(...paired),
      cpu: sa.usPerReq && sb.usPerReq ? sb.usPerReq / sa.usPerReq : null,
      total: pairedCpu.length ? median(pairedCpu) : null,
      totalMin: pairedCpu.length ? Math.min(...pairedCpu) : null,
      totalMax: pairedCpu.length ? Math.max(...pairedCpu) : null,
    }
  }
  const show = (label, r) =>
    `${label.padEnd(24)} req/s ${r.median.toFixed(3)} (rounds ${r.min.toFixed(3)}–${r.max.toFixed(3)}) · ` +
    `CPU/req app+db ${fmt(r.total, 3)} (rounds ${fmt(r.totalMin, 3)}–${fmt(r.totalMax, 3)}) · ` +
    `app only ${fmt(r.cpu, 3)}`
  const appRatio = ratio('api+rls', 'api')
  const bad = summary.filter((s) => s.bad > 0)
  console.log(
    [
      '',
      '==================================== summary ====================================',
      `${new Date().toISOString()}  ${os.availableParallelism()} cores  PostgreSQL ${pgVersion}  ` +
        (pinned ? 'pinned' : 'not pinned'),
      `${ROUNDS} rounds × ${DURATION}s, ${CONNECTIONS} connections, warm-up ${WARMUP}s; medians over rounds`,
      `machine busy before the run (other processes): ${idleBusy === null ? '-' : `${(idleBusy * 100).toFixed(0)}%`}`,
      '',
      `median ${HEADER}`,
      ...summary.map((s) => `       ${ROW(s)}`),
      '',
      show('API mix rls / off', appRatio),
      `${''.padEnd(24)} goal ≥ ${GOAL}: by req/s ${appRatio.median >= GOAL ? 'MET' : 'NOT MET'}, ` +
        `by CPU per request ${appRatio.total === null ? '-' : appRatio.total >= GOAL ? 'MET' : 'NOT MET'}`,
      'CPU/req app+db: the server process plus the PostgreSQL backends of the bench database, per request',
      '(paired by round; the machine is shared, so this is the steadier figure when req/s is noisy).',
      show('members rls / off', ratio('app+rls', 'app')),
      show('page rls / page app', ratio('page rls', 'page app')),
      show('page rlspipe / page app', ratio('page rlspipe', 'page app')),
      show('app / page app', ratio('app', 'page app')),
      ...(bad.length
        ? [
            '',
            `INVALID: errors/timeouts/non-2xx in ${bad.map((s) => `${s.target} (${s.bad})`).join(', ')}`,
          ]
        : []),
      '=================================================================================',
    ].join('\n')
  )
  await admin.end()
  await stopAll()
  if (bad.length) process.exitCode = 1
}

main().catch(async (error) => {
  console.error(`[bench] failed: ${error.stack || error.message}`)
  await stopAll()
  process.exit(1)
})
