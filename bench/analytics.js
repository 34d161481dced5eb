/*
 * Analytics dashboards at scale, in a scratch PostgreSQL database, served by the app from rollups
 * (uncached and cached; one user and --concurrency users), against the same figures computed from
 * the raw runs table in the same run (the baseline). PostgreSQL only; not part of CI.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:analytics \
 *     [-- --mode single|multi --runs 10000000 --db NAME --requests 100 --concurrency 20 --raw-reps 3]
 *
 * --mode single (default): one workspace, bench-analytics, with --runs runs (db agora_bench_analytics).
 * --mode multi: --tenants workspaces (500) of --members members (100) each, --runs runs in all:
 *   half in one hot workspace (bench-hot), the rest spread over bench-small-1 … -499 (db
 *   agora_bench_analytics_mt); the figures are reported for the hot workspace, a small one and
 *   the platform-wide page (/admin/analytics, as a platform admin).
 *
 * 1. creates the scratch database when missing and migrates it;
 * 2. checks free disk where PostgreSQL keeps its data and prints what the seed needs;
 * 3. `node ace bench:seed …` tops the workspace up (single) or seeds every workspace once
 *    (multi) over the last 90 days and rebuilds the rollups with SQL (timed);
 * 4. starts the app (NODE_ENV=production, `npm start`'s V8 flags, sources through ts-exec,
 *    in-memory cache), logs in and loads the 90-day dashboard of each workspace measured:
 *    - uncached, one user: the rollup version is bumped before every request (as a new run does);
 *    - cached, one user: the same page again and again;
 *    - uncached at --concurrency users: every request a different custom range (distinct keys);
 *    - cached at --concurrency users;
 *    server time is the page's Server-Timing `dashboard` (figures + rendering), client time the
 *    whole round trip; the cache hit ratio of each cached phase from /metrics counters;
 * 5. the raw baseline (single mode): the dashboard's figures (totals and percentiles of the range
 *    and of the previous period, the daily series, the three breakdowns) queried from `runs`;
 * 6. appends a dated summary to bench/RESULTS.md.
 *
 * --processes N starts N web processes sharing sessions and the dashboard cache through Redis
 * (db 9, flushed first) and sends request i to process i mod N, as a round-robin balancer would.
 * --cpu-prof profiles the app into tmp/bench-profiles (see bench/cpuprofile-top.js). Ports come
 * from 3600–3699. Exit code 1 only when the benchmark could not run.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, readFileSync, statfsSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  formLogin as login,
  freePorts,
  log,
  NODE,
  requireFromProject,
  ROOT,
  SERVER_FLAGS,
  startChild,
  stopAll,
  waitUntilUp,
} from './support.js'

const SELF = fileURLToPath(import.meta.url)
const BYTES_PER_RUN = 450 // keep in step with app/analytics/commands/bench_seed.ts
const MEMBER_PASSWORD = 'bench member passphrase' // likewise

const { values: opts } = parseArgs({
  options: {
    'runs': { type: 'string', default: '10000000' },
    'mode': { type: 'string', default: 'single' },
    'db': { type: 'string' },
    'tenants': { type: 'string', default: '500' },
    'members': { type: 'string', default: '100' },
    'requests': { type: 'string', default: '100' },
    'concurrency': { type: 'string', default: '20' },
    'raw-reps': { type: 'string', default: '3' },
    'cpu-prof': { type: 'boolean', default: false },
    'processes': { type: 'string', default: '1' },
    'help': { type: 'boolean', short: 'h', default: false },
  },
})
if (opts.help) {
  console.log(readFileSync(SELF, 'utf8').split('*/')[0])
  process.exit(0)
}
const MULTI = opts.mode === 'multi'
if (!['single', 'multi'].includes(opts.mode)) throw new Error('--mode is single or multi')
opts.db ??= MULTI ? 'agora_bench_analytics_mt' : 'agora_bench_analytics'
const SLUG = MULTI ? 'bench-hot' : 'bench-analytics'
const TENANTS = Number(opts.tenants)
const MEMBERS = Number(opts.members)
const RUNS = Number(opts.runs)
const PROCESSES = Number(opts.processes)
const REQUESTS = Number(opts.requests)
const CONCURRENCY = Number(opts.concurrency)
const RAW_REPS = Number(opts['raw-reps'])
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(opts.db))
  throw new Error(`--db must be a plain database name, not "${opts.db}"`)
if (!process.env.DATABASE_URL) {
  console.error(
    '[bench] DATABASE_URL must point at a PostgreSQL server (the embedded PGlite is not for benchmarks)'
  )
  process.exit(1)
}
const pg = requireFromProject('pg')
const serverUrl = new URL(process.env.DATABASE_URL)
const benchUrl = Object.assign(new URL(serverUrl), { pathname: `/${opts.db}` }).toString()
const APP_KEY = randomBytes(24).toString('hex')
const appEnv = { ...process.env, DATABASE_URL: benchUrl, APP_KEY, LOG_LEVEL: 'warn', TZ: 'UTC' }
delete appEnv.REDIS_URL
// Several web processes share sessions and the dashboard cache through Redis, as in production.
const BENCH_REDIS = 'redis://127.0.0.1:6379/9'
if (PROCESSES > 1) appEnv.REDIS_URL = BENCH_REDIS

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN
}
const ms = (value) => `${value.toFixed(1)} ms`

function ace(args) {
  const result = spawnSync(NODE, ['ace', ...args], {
    cwd: ROOT,
    env: appEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  })
  if (result.status !== 0) throw new Error(`node ace ${args.join(' ')} failed (${result.status})`)
  return result.stdout.trim()
}

async function query(url, text, values = []) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text, values)).rows
  } finally {
    await client.end()
  }
}

/* ------------------------------------------------------------------------ database + seed */

async function prepare() {
  const exists = await query(serverUrl.toString(), 'SELECT 1 FROM pg_database WHERE datname = $1', [
    opts.db,
  ])
  if (!exists.length) await query(serverUrl.toString(), `CREATE DATABASE ${opts.db}`)
  log('migrating', opts.db)
  ace(['migration:run', '--force'])

  const [have] = await query(
    benchUrl,
    `SELECT count(DISTINCT t.id)::int AS tenants, count(r.*)::bigint AS n
     FROM tenants t LEFT JOIN runs r ON r.tenant_id = t.id WHERE t.slug = $1`,
    [SLUG]
  )
  // Multi: seeded once, whole (the hot workspace's existence says it was).
  const missing = MULTI ? (have.tenants ? 0 : RUNS) : Math.max(0, RUNS - Number(have.n))
  const [{ data_directory: dataDir }] = await query(benchUrl, 'SHOW data_directory').catch(() => [
    { data_directory: '/' },
  ])
  let free = NaN
  try {
    const stats = statfsSync(dataDir)
    free = stats.bavail * stats.bsize
  } catch {
    free = statfsSync('/').bavail * statfsSync('/').bsize
  }
  const needs = missing * BYTES_PER_RUN
  log(
    `disk: ${(free / 1e9).toFixed(1)} GB free at ${dataDir}; ` +
      `seeding ${missing.toLocaleString('en-US')} runs needs about ${(needs / 1e9).toFixed(1)} GB ` +
      '(plus WAL while it runs)'
  )
  if (needs * 1.5 > free) throw new Error('not enough free disk for the seed: lower --runs')
  let seedSeconds = null
  if (missing > 0) {
    const started = Date.now()
    log(`bench:seed --runs=${missing} (progress below)`)
    if (MULTI) {
      const hot = Math.floor(missing / 2)
      log(ace(['bench:seed', `--tenant=${SLUG}`, `--runs=${hot}`, `--members=${MEMBERS}`]))
      log(
        ace([
          'bench:seed',
          '--tenant=bench-small',
          `--tenants=${TENANTS - 1}`,
          `--runs=${missing - hot}`,
          `--members=${MEMBERS}`,
        ])
      )
    } else {
      log(ace(['bench:seed', `--tenant=${SLUG}`, `--runs=${missing}`]))
    }
    seedSeconds = (Date.now() - started) / 1000
  }
  const [tenant] = await query(benchUrl, 'SELECT id, time_zone FROM tenants WHERE slug = $1', [
    SLUG,
  ])
  const [sizes] = await query(
    benchUrl,
    `SELECT (SELECT count(*) FROM runs WHERE tenant_id = $1)::bigint AS runs,
            (SELECT count(*) FROM runs)::bigint AS all_runs,
            (SELECT count(*) FROM tenants)::bigint AS tenants,
            (SELECT count(*) FROM memberships)::bigint AS members,
            (SELECT count(*) FROM usage_hourly WHERE tenant_id = $1)::bigint AS hourly,
            (SELECT count(*) FROM usage_daily WHERE tenant_id = $1)::bigint AS daily,
            (SELECT count(*) FROM usage_daily)::bigint AS all_daily,
            pg_size_pretty(pg_total_relation_size('runs')) AS runs_size,
            (SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c
             WHERE c.relkind = 'r' AND c.relname LIKE 'usage\\_%') AS rollup_size`,
    [tenant.id]
  )
  return { tenant, sizes, seedSeconds }
}

/* ------------------------------------------------------------------------------ the app */

/** One page load: server time (Server-Timing) and round trip, in ms. */
async function load(url, cookie) {
  const started = performance.now()
  const response = await fetch(url, { headers: { cookie } })
  await response.arrayBuffer()
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`)
  const server = Number(
    /dashboard;dur=([\d.]+)/.exec(response.headers.get('server-timing') ?? '')?.[1]
  )
  return { server, client: performance.now() - started }
}

async function scenario(name, { concurrency, requests, url, before, cookie }) {
  const samples = []
  let next = 0
  const worker = async () => {
    for (let i = next++; i < requests; i = next++) {
      if (before) await before(i)
      samples.push(await load(url(i), cookie))
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const seconds = (performance.now() - started) / 1000
  const result = {
    name,
    concurrency,
    requests,
    serverP50: quantile(
      samples.map((s) => s.server),
      0.5
    ),
    serverP95: quantile(
      samples.map((s) => s.server),
      0.95
    ),
    clientP95: quantile(
      samples.map((s) => s.client),
      0.95
    ),
    rps: requests / seconds,
  }
  log(
    `${name.padEnd(28)} server p50 ${ms(result.serverP50)}, p95 ${ms(result.serverP95)}; ` +
      `round trip p95 ${ms(result.clientP95)}; ${result.rps.toFixed(1)} pages/s`
  )
  return result
}

/* ----------------------------------------------------------------------- raw baseline */

/** The dashboard's figures straight from `runs` (what rollups replace), timed per dashboard. */
async function rawBaseline(tenant) {
  const client = new pg.Client({ connectionString: benchUrl })
  await client.connect()
  const zone = tenant.time_zone
  const [{ today }] = (
    await client.query(`SELECT to_char((now() AT TIME ZONE $1)::date, 'YYYY-MM-DD') AS today`, [
      zone,
    ])
  ).rows
  const bounds = `created_at >= (($2::date - 89)::timestamp AT TIME ZONE $3)
    AND created_at < (($2::date + 1)::timestamp AT TIME ZONE $3)`
  const previous = `created_at >= (($2::date - 179)::timestamp AT TIME ZONE $3)
    AND created_at < (($2::date - 89)::timestamp AT TIME ZONE $3)`
  const figures = `count(*) AS runs, count(*) FILTER (WHERE status = 'succeeded') AS ok,
    count(*) FILTER (WHERE status = 'failed') AS errors,
    sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost_micros) AS credits,
    percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY latency_ms) AS p`
  const terminal = `status IN ('succeeded', 'failed', 'cancelled')`
  const statements = [
    `SELECT ${figures}, count(DISTINCT member_id) AS members
     FROM runs WHERE tenant_id = $1 AND ${terminal} AND ${bounds}`,
    `SELECT ${figures}, count(DISTINCT member_id) AS members
     FROM runs WHERE tenant_id = $1 AND ${terminal} AND ${previous}`,
    `SELECT (created_at AT TIME ZONE $3)::date AS day, count(*), count(*) FILTER (WHERE status = 'failed'),
            sum(cost_micros)
     FROM runs WHERE tenant_id = $1 AND ${terminal} AND ${bounds} GROUP BY 1`,
    ...['agent_id', 'member_id', 'model'].map(
      (column) =>
        `SELECT ${column}, ${figures} FROM runs WHERE tenant_id = $1 AND ${terminal} AND ${bounds} GROUP BY 1`
    ),
  ]
  const times = []
  for (let rep = 0; rep < RAW_REPS; rep++) {
    const started = performance.now()
    for (const text of statements) await client.query(text, [tenant.id, today, zone])
    times.push(performance.now() - started)
    log(`raw baseline dashboard ${rep + 1}/${RAW_REPS}: ${ms(times.at(-1))}`)
  }
  await client.end()
  return { p50: quantile(times, 0.5), max: Math.max(...times) }
}

/* ------------------------------------------------------------------------------- main */

/** Dashboard cache lookups so far, from the app's /metrics counters. */
async function cacheCounts(bases) {
  const counts = { hit: 0, miss: 0 }
  for (const base of bases) {
    const one = await cacheCountsOf(base)
    counts.hit += one.hit
    counts.miss += one.miss
  }
  return counts
}

async function cacheCountsOf(base) {
  const text = await (await fetch(`${base}/metrics`)).text()
  const count = (result) =>
    Number(
      new RegExp(`^analytics_cache_requests_total\\{result="${result}"\\} ([\\d.e+]+)$`, 'm').exec(
        text
      )?.[1] ?? 0
    )
  return { hit: count('hit'), miss: count('miss') }
}

/** A cached phase with the share of its lookups the cache answered. */
async function cachedScenario(bases, name, options) {
  const before = await cacheCounts(bases)
  const result = await scenario(name, options)
  const after = await cacheCounts(bases)
  const hits = after.hit - before.hit
  result.hitRatio = hits / Math.max(1, hits + after.miss - before.miss)
  return result
}

/**
 * The four dashboard phases for one workspace (or the platform page); request i goes to
 * process i mod N (a round-robin load balancer).
 */
async function measure(bases, { label, path, distinctPath, cookie, bump }) {
  const at = (i) => bases[i % bases.length]
  const page = (i) => `${at(i)}${path}`
  // Warm-up (JIT, pools, templates) of every process.
  for (let i = 0; i < 5 * bases.length; i++) await load(page(i), cookie)
  const results = []
  const add = (result) => results.push({ ...result, label })
  add(
    await scenario(`${label}: uncached, 1 user`, {
      concurrency: 1,
      requests: REQUESTS,
      url: page,
      before: bump,
      cookie,
    })
  )
  add(
    await cachedScenario(bases, `${label}: cached, 1 user`, {
      concurrency: 1,
      requests: REQUESTS * 2,
      url: page,
      cookie,
    })
  )
  await bump()
  add(
    await scenario(`${label}: uncached, ${CONCURRENCY} users`, {
      concurrency: CONCURRENCY,
      requests: REQUESTS * 2,
      // Distinct ranges: every concurrent request a cache miss; the platform page has one
      // range, so its version is bumped before each request instead.
      url: distinctPath ? (i) => `${at(i)}${distinctPath(i)}` : page,
      before: distinctPath ? undefined : bump,
      cookie,
    })
  )
  add(
    await cachedScenario(bases, `${label}: cached, ${CONCURRENCY} users`, {
      concurrency: CONCURRENCY,
      requests: REQUESTS * 4,
      url: page,
      cookie,
    })
  )
  return results
}

async function main() {
  const { tenant, sizes, seedSeconds } = await prepare()
  log(
    `workspace ${SLUG}: ${Number(sizes.runs).toLocaleString('en-US')} runs ` +
      `(${Number(sizes.all_runs).toLocaleString('en-US')} in ${sizes.tenants} workspaces, ` +
      `${sizes.runs_size} with indexes) ` +
      `→ ${sizes.hourly} hourly + ${sizes.daily} daily rows (rollups of all workspaces: ${sizes.rollup_size})`
  )

  if (PROCESSES > 1) {
    const redis = requireFromProject('ioredis')
    const client = new (redis.default ?? redis)(BENCH_REDIS)
    await client.flushdb()
    client.disconnect()
  }
  const ports = await freePorts(PROCESSES, 3600, 3699)
  const profileDir = `${ROOT}/tmp/bench-profiles`
  const profile = opts['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  const bases = []
  for (const [i, port] of ports.entries()) {
    const app = startChild(
      `app${i + 1}`,
      NODE,
      [...SERVER_FLAGS, ...profile, '--import=@poppinss/ts-exec', 'bin/server.ts'],
      {
        cwd: ROOT,
        env: { ...appEnv, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port) },
      }
    )
    bases.push(`http://127.0.0.1:${port}`)
    await waitUntilUp(`${bases[i]}/health/live`, app, 60_000)
  }
  const base = bases[0]

  const bumpOf = (tenantId) => () =>
    query(benchUrl, 'UPDATE analytics_versions SET version = version + 1 WHERE tenant_id = $1', [
      tenantId,
    ])
  const today = new Date()
  const day = (offset) => new Date(today.getTime() - offset * 86_400_000).toISOString().slice(0, 10)
  // Distinct custom ranges of 60–90 days: every concurrent request a cache miss.
  const dashboard = (slug) => ({
    path: `/t/${slug}/analytics?range=90d`,
    distinctPath: (i) =>
      `/t/${slug}/analytics?range=custom&from=${day(89 - (i % 30))}&to=${day(Math.floor(i / 30))}`,
  })
  const owner = (slug) =>
    login(base, `owner@${slug}.bench.test`, `bench owner@${slug}.bench.test passphrase`)
  const results = await measure(bases, {
    label: MULTI
      ? `hot workspace (${Number(sizes.runs).toLocaleString('en-US')} runs)`
      : 'workspace',
    ...dashboard(SLUG),
    cookie: await owner(SLUG),
    bump: bumpOf(tenant.id),
  })
  if (MULTI) {
    const small = 'bench-small-1'
    const [row] = await query(
      benchUrl,
      `SELECT t.id, count(r.*)::bigint AS runs FROM tenants t LEFT JOIN runs r ON r.tenant_id = t.id
       WHERE t.slug = $1 GROUP BY t.id`,
      [small]
    )
    results.push(
      ...(await measure(bases, {
        label: `small workspace (${Number(row.runs).toLocaleString('en-US')} runs)`,
        ...dashboard(small),
        cookie: await owner(small),
        bump: bumpOf(row.id),
      }))
    )
    // The platform page, as a platform admin (a member of the small workspace made one).
    const adminEmail = `member0@${small}.bench.test`
    await query(benchUrl, 'UPDATE users SET platform_admin = true WHERE lower(email) = $1', [
      adminEmail,
    ])
    results.push(
      ...(await measure(bases, {
        label: 'platform page',
        path: '/admin/analytics',
        distinctPath: null,
        cookie: await login(base, adminEmail, MEMBER_PASSWORD),
        bump: bumpOf(row.id),
      }))
    )
  }
  await stopAll()

  const raw = MULTI || RAW_REPS < 1 ? null : await rawBaseline(tenant)
  if (raw)
    log(
      `raw-table dashboard (same figures from runs): median ${ms(raw.p50)}, slowest ${ms(raw.max)}`
    )

  const stamp = new Date().toISOString().slice(0, 16).replace('T', ' ')
  const load1 = os.loadavg()[0].toFixed(2)
  const lines = [
    '',
    `## ${stamp} UTC — analytics dashboard (bench/analytics.js --mode ${opts.mode}` +
      (PROCESSES > 1 ? ` --processes ${PROCESSES}, Redis` : '') +
      ')',
    '',
    `${os.cpus().length} cores, load average ${load1} at the end, ` +
      `PostgreSQL ${(await query(benchUrl, 'SHOW server_version'))[0].server_version}; ` +
      (MULTI
        ? `${sizes.tenants} workspaces, ${Number(sizes.members).toLocaleString('en-US')} memberships, ` +
          `${Number(sizes.all_runs).toLocaleString('en-US')} runs over 90 days (${sizes.runs_size}), ` +
          `the hot workspace ${Number(sizes.runs).toLocaleString('en-US')}; `
        : `workspace with ${Number(sizes.runs).toLocaleString('en-US')} runs over 90 days (${sizes.runs_size}), `) +
      `${sizes.hourly} hourly + ${sizes.daily} daily rollup rows for ${SLUG}, ` +
      `rollups of all workspaces ${sizes.rollup_size}` +
      (seedSeconds === null
        ? '; seed reused.'
        : `; seeded (runs + rollups) in ${seedSeconds.toFixed(0)} s.`),
    '',
    '| page (range 90d) | cache | users | server p50 | server p95 | round trip p95 | pages/s | cache hits |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.label} | ${r.name.split(': ')[1].split(',')[0]} | ${r.concurrency} ` +
        `| ${ms(r.serverP50)} | ${ms(r.serverP95)} | ${ms(r.clientP95)} | ${r.rps.toFixed(1)} ` +
        `| ${r.hitRatio === undefined ? '—' : `${(r.hitRatio * 100).toFixed(1)} %`} |`
    ),
    ...(raw
      ? [
          `| raw runs table (baseline, same figures) | — | 1 | ${ms(raw.p50)} ` +
            `| ${ms(raw.max)} (slowest of ${RAW_REPS}) | — | — | — |`,
        ]
      : []),
  ]
  appendFileSync(new URL('./RESULTS.md', import.meta.url), lines.join('\n') + '\n')
  console.log(lines.join('\n'))
}

main().catch(async (error) => {
  console.error('[bench] failed:', error.message)
  await stopAll()
  process.exit(1)
})
