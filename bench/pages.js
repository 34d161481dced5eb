/*
 * Cost of the tenant pages (issue: "every tenant page in under 1 ms of server CPU and at most 3
 * SQL statements"): the production build serves the members, runs, credits, analytics and home
 * pages of one workspace (session cookie from the real login form) and the landing page (no
 * cookie), beside the raw reference ../shared/bench-baselines/page.cjs (MODE=app: a hand-written
 * HTML page with one tenant-scoped query) in the same interleaved rounds.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:pages \
 *     [-- --rounds 5 --duration 5 --warmup 3 --connections 50 --db agora_bench_pages --no-build]
 *
 * 1. (re)creates the scratch database --db on DATABASE_URL's server, migrates it and seeds one
 *    workspace with 20 members, 5 pending invitations, credits, an API token, a simulator agent
 *    (bench-sim, created through the API) and ~120 runs started through the API (so the runs,
 *    credits and analytics pages have more than one page of data), plus the baseline's `items`
 *    table (500 tenants × 200 rows);
 * 2. compiles the app into tmp/bench-pages/build (--no-build reuses it), starts it
 *    (NODE_ENV=production, no REDIS_URL, default TENANT_RLS) and page.cjs, both on core 0 when
 *    taskset works;
 * 3. statements per request, untimed: a second app process and a second page.cjs connect to
 *    PostgreSQL through a counting TCP proxy started by this script (it parses the client→server
 *    protocol and counts 'Q' simple queries and 'E' executes); after two warm-up requests per
 *    page, 3 batches of 20 sequential GETs per page give "round trips/req": the median of the
 *    per-request counts (the app's own timers, e.g. the in-process queue poller's 9 statements a
 *    second, land on a request or two and do not move it) and, beside it, the mean of the best
 *    batch (count delta / 20, timers included). Both are stopped before the timed rounds;
 * 4. autocannon runs in a separate process on core 1; interleaved rounds, each page: req/s,
 *    p50/p99, server CPU per request (µs of the app process's CPU / requests) and the database
 *    backends' CPU per request;
 * 5. prints medians, the ratio to page.cjs (median of per-round paired ratios) and the goals:
 *    ≥ 0.25× page.cjs, ≤ 1000 µs server CPU and ≤ 3 statements per request for each tenant page,
 *    ≤ 250 µs for the landing page. Any non-2xx answer marks the run INVALID.
 *
 * Ports come from 3600–3699 (never 3333). Exit code 1 when the benchmark could not run or a
 * response was not 2xx (goals missed still exit 0).
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import net from 'node:net'
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
const GOAL_RATIO = 0.25
const GOAL_US = 1000
const GOAL_LANDING_US = 250
const GOAL_STATEMENTS = 3
const RUNS_TO_SEED = 120
const SEED_PARALLEL = 4
const COUNT_REQUESTS = 20
const COUNT_BATCHES = 3

/* ------------------------------------------------------------------------------- options */

const { values: opts } = parseArgs({
  options: {
    'rounds': { type: 'string', default: '5' },
    'duration': { type: 'string', default: '5' },
    'warmup': { type: 'string', default: '3' },
    'connections': { type: 'string', default: '50' },
    'db': { type: 'string', default: 'agora_bench_pages' },
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
const urlFor = (database) => databaseUrl(database)
const BENCH_URL = urlFor(DB_NAME)
let BUILD
const SLUG = 'bench'

/** Creates the simulator agent through the API, then starts `count` runs on it (a few at a time). */
async function seedRuns(base, token, count) {
  const headers = {
    'authorization': `Bearer ${token}`,
    'content-type': 'application/json',
    'accept': 'application/json',
  }
  const created = await fetch(`${base}/api/v1/agents`, {
    method: 'POST',
    headers,
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
  log(`starting ${count} runs through the API (${SEED_PARALLEL} at a time)`)
  let next = 0
  const worker = async () => {
    while (next < count) {
      next++
      const response = await fetch(`${base}/api/v1/agents/bench-sim/runs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ input: 'hello' }),
      })
      const body = await response.text()
      if (response.status >= 300)
        throw new Error(`starting a run failed: ${response.status} ${body.slice(0, 300)}`)
    }
  }
  await Promise.all(Array.from({ length: SEED_PARALLEL }, worker))
  // Runs may finish after the answer: wait until none is queued or running.
  const deadline = Date.now() + 120_000
  for (;;) {
    const { rows } = await query(
      BENCH_URL,
      'SELECT status, count(*)::int AS n FROM runs GROUP BY status ORDER BY status'
    )
    const open = rows
      .filter((r) => r.status === 'queued' || r.status === 'running')
      .reduce((s, r) => s + r.n, 0)
    if (open === 0 || Date.now() > deadline) {
      const ledger = (await query(BENCH_URL, 'SELECT count(*)::int AS n FROM ledger_entries'))
        .rows[0].n
      log(
        `runs: ${rows.map((r) => `${r.n} ${r.status}`).join(', ')}; ${ledger} ledger entries` +
          (open ? ` (still ${open} open after 120 s)` : '')
      )
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/* -------------------------------------------------------------------------------- servers */

async function startApp(name, port, appKey, databaseUrl) {
  const [cmd, args] = onCore(0)(NODE, [...SERVER_FLAGS, 'bin/server.js'])
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    APP_KEY: appKey,
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
  }
  delete env.REDIS_URL // sessions in the cookie, cache in memory
  delete env.TENANT_RLS // the default: bound
  const child = startChild(name, cmd, args, { cwd: BUILD, env })
  await waitUntilUp(`http://127.0.0.1:${port}/health/live`, child, 120_000)
  return child
}

async function startPage(name, port, databaseUrl) {
  const [cmd, args] = onCore(0)(NODE, [PAGE])
  const child = startChild(name, cmd, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      MODE: 'app',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      POOL: process.env.DB_POOL_MAX || '10',
      NODE_PATH: join(ROOT, 'node_modules'),
    },
  })
  await waitUntilUp(`http://127.0.0.1:${port}/`, child, 15_000)
  return child
}

/** Stops one child started here (SIGINT, then SIGKILL after 8 s). */
async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGINT')
  const timer = setTimeout(() => child.kill('SIGKILL'), 8000)
  await child.exited
  clearTimeout(timer)
}

/* ---------------------------------------------------------------- counting PostgreSQL proxy */

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104

/**
 * A TCP proxy to DATABASE_URL's server that counts the statements clients send: it follows the
 * frontend (client→server) message stream of each connection. The first message(s) carry no
 * type byte (int32 length, int32 code: an SSLRequest or GSSENCRequest, answered by the server
 * with one byte, then the real StartupMessage); after that every message is one type byte and an
 * int32 length that includes itself. 'Q' (simple query) and 'E' (execute) are counted.
 */
function startCountingProxy(port) {
  const upstreamHost = serverUrl.hostname || '127.0.0.1'
  const upstreamPort = Number(serverUrl.port || 5432)
  const stats = {
    statements: 0,
    control: 0,
    simple: 0,
    executes: 0,
    connections: 0,
    encrypted: 0,
  }
  const sockets = new Set()
  const server = net.createServer((client) => {
    stats.connections++
    const upstream = net.connect(upstreamPort, upstreamHost)
    sockets.add(client)
    sockets.add(upstream)
    const conn = { startup: true, awaitingSslReply: false, encrypted: false, statements: 0 }
    let header = Buffer.alloc(0)
    let skip = 0 // bytes of the current message's body still to pass over
    // A simple query's first bytes: BEGIN (which carries the tenant binding) and COMMIT are
    // transaction control, counted apart from the statements that read or write data.
    let peek = null
    const classify = () => {
      if (/^(BEGIN|COMMIT|ROLLBA)/i.test(peek.toString('latin1'))) stats.control++
      peek = null
    }
    client.on('data', (chunk) => {
      if (conn.encrypted) return
      let i = 0
      while (i < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - i)
          if (peek) {
            peek = Buffer.concat([peek, chunk.subarray(i, i + Math.min(n, 6 - peek.length))])
            if (peek.length >= 6 || n === skip) classify()
          }
          skip -= n
          i += n
          continue
        }
        const size = conn.startup ? 8 : 5
        const take = Math.min(size - header.length, chunk.length - i)
        header = Buffer.concat([header, chunk.subarray(i, i + take)])
        i += take
        if (header.length < size) break
        if (conn.startup) {
          const length = header.readInt32BE(0)
          const code = header.readInt32BE(4)
          skip = length - 8
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) conn.awaitingSslReply = true
          else conn.startup = false // StartupMessage (or CancelRequest, after which it closes)
        } else {
          const type = String.fromCharCode(header[0])
          skip = header.readInt32BE(1) - 4
          if (type === 'Q' || type === 'E') {
            conn.statements++
            stats.statements++
            if (type === 'Q') {
              stats.simple++
              peek = Buffer.alloc(0)
            } else stats.executes++
          }
        }
        header = Buffer.alloc(0)
      }
    })
    upstream.on('data', (chunk) => {
      // 'S' to an SSLRequest/GSSENCRequest: the rest is encrypted and cannot be counted.
      if (conn.awaitingSslReply) {
        conn.awaitingSslReply = false
        if (chunk[0] !== 'N'.charCodeAt(0)) {
          conn.encrypted = true
          stats.encrypted++
        }
      }
    })
    client.pipe(upstream)
    upstream.pipe(client)
    const close = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', close)
    upstream.on('error', close)
    client.on('close', close)
    upstream.on('close', close)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () =>
      resolve({
        stats,
        url: (() => {
          const url = new URL(BENCH_URL)
          url.hostname = '127.0.0.1'
          url.port = String(port)
          return url.toString()
        })(),
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          }),
      })
    )
  })
}

/** Statements per request for each page, through the proxy (untimed, sequential requests). */
async function countStatements(proxy, pages) {
  const get = async (url, headers) => {
    const response = await fetch(url, { headers, redirect: 'manual' })
    await response.arrayBuffer()
    if (response.status !== 200) throw new Error(`${url} answered ${response.status} via proxy`)
  }
  // The apps' own timers (webhook dispatch, heartbeats…) also talk to the database: show how much.
  const idleBefore = proxy.stats.statements
  await new Promise((resolve) => setTimeout(resolve, 3000))
  const idle = proxy.stats.statements - idleBefore
  log(`proxy: ${idle} statement(s) in 3 s with no requests (background timers)`)
  const result = new Map()
  for (const page of pages) {
    for (let i = 0; i < 2; i++) await get(page.url, page.headers)
    // Per request and per batch: the queue poller's bursts land on a request or two of a batch;
    // the median request does not see them, the best batch's mean shows what remains.
    const each = []
    const eachData = []
    let best = Infinity
    for (let batch = 0; batch < COUNT_BATCHES; batch++) {
      const start = proxy.stats.statements
      for (let i = 0; i < COUNT_REQUESTS; i++) {
        const before = proxy.stats.statements
        const controlBefore = proxy.stats.control
        await get(page.url, page.headers)
        each.push(proxy.stats.statements - before)
        eachData.push(proxy.stats.statements - before - (proxy.stats.control - controlBefore))
      }
      best = Math.min(best, proxy.stats.statements - start)
    }
    const counted = {
      median: median(each),
      data: median(eachData),
      mean: best / COUNT_REQUESTS,
    }
    result.set(page.name, counted)
    const spread = [...new Set(each)].sort((a, b) => a - b).join('/')
    log(
      `${page.name.padEnd(10)} ${counted.median} statements per request (median; ` +
        `${counted.data} besides BEGIN/COMMIT), ` +
        `${counted.mean.toFixed(2)} mean of the best batch; per request seen: ${spread}`
    )
  }
  if (proxy.stats.encrypted)
    throw new Error(
      `${proxy.stats.encrypted} proxied connection(s) switched to TLS: cannot count (add sslmode=disable?)`
    )
  log(
    `proxy: ${proxy.stats.connections} connections, ${proxy.stats.simple} 'Q' + ` +
      `${proxy.stats.executes} 'E' in all`
  )
  return result
}

/* ----------------------------------------------------------------------------------- main */

const fmt = (x, digits = 0) =>
  x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits)
const pad = (s, n) => String(s).padStart(n)
const HEADER =
  `${'target'.padEnd(10)} ${pad('req/s', 8)} ${pad('p50ms', 6)} ${pad('p99ms', 6)} ${pad('srvCPU', 7)} ` +
  `${pad('µs/req', 8)} ${pad('dbµs/req', 9)} ${pad('loadCPU', 7)} ${pad('bad', 5)}`
const ROW = (r) =>
  `${r.target.padEnd(10)} ${pad(fmt(r.rps), 8)} ${pad(fmt(r.p50), 6)} ${pad(fmt(r.p99), 6)} ` +
  `${pad(fmt(r.serverCpu, 2), 7)} ${pad(fmt(r.usPerReq, 1), 8)} ${pad(fmt(r.dbUs, 1), 9)} ` +
  `${pad(fmt(r.loadCpu, 2), 7)} ${pad(r.bad, 5)}`
const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')

/** CPU ticks used so far by the PostgreSQL backends serving the bench database (local server only). */
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
  return { ...row, dbUs }
}

async function main() {
  const appKey = randomBytes(32).toString('base64url')
  log(
    `node ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()}, ` +
      `${os.availableParallelism()} cores, ` +
      (pinned ? 'servers on core 0, load on core 1' : 'no pinning (taskset unavailable)')
  )
  const loadAtStart = loadavg()
  log(`load average at start: ${loadAtStart}`)
  const pgVersion = (await query(urlFor('postgres'), 'SHOW server_version')).rows[0].server_version
  // Other processes on this machine skew every figure; say how busy it was before we started.
  const idleBusy = await machineBusy(2000)
  log(
    `PostgreSQL ${pgVersion} at ${serverUrl.host}; machine busy ` +
      `${idleBusy === null ? '-' : `${(idleBusy * 100).toFixed(0)}%`} before the run`
  )
  BUILD = privateBuild('bench-pages', { noBuild: opts['no-build'] })
  const { token } = await prepareWorkspace({
    database: DB_NAME,
    appKey,
    slug: SLUG,
    reason: 'bench:pages',
    members: true,
    items: true,
  })

  const [appPort, pagePort, proxyAppPort, proxyPagePort, proxyPort] = await freePorts(5, 3600, 3699)
  log(`starting the app (:${appPort}) and page.cjs (:${pagePort})`)
  const app = await startApp('app', appPort, appKey, BENCH_URL)
  const base = `http://127.0.0.1:${appPort}`
  await seedRuns(base, token, RUNS_TO_SEED)
  const cookie = await login(base)
  const page = await startPage('page app', pagePort, BENCH_URL)

  const paths = [
    { name: 'members', path: `/t/${SLUG}/members`, cookie: true },
    { name: 'runs', path: `/t/${SLUG}/runs`, cookie: true },
    { name: 'credits', path: `/t/${SLUG}/credits`, cookie: true },
    { name: 'analytics', path: `/t/${SLUG}/analytics`, cookie: true },
    { name: 'home', path: `/t/${SLUG}`, cookie: true },
    { name: 'landing', path: '/', cookie: false },
  ]
  const targetsOn = (appBase, pageBase, appPid, pagePid) => [
    ...paths.map((p) => ({
      name: p.name,
      url: `${appBase}${p.path}`,
      pid: appPid,
      headers: p.cookie ? { cookie } : {},
    })),
    { name: 'page.cjs', url: `${pageBase}/`, pid: pagePid, headers: {} },
  ]
  const targets = targetsOn(base, `http://127.0.0.1:${pagePort}`, app.pid, page.pid)
  for (const target of targets) {
    const response = await fetch(target.url, { headers: target.headers, redirect: 'manual' })
    const body = await response.text()
    if (response.status !== 200)
      throw new Error(
        `${target.name} ${target.url} answered ${response.status}: ${body.slice(0, 200)}`
      )
    const rows = (body.match(/<tr[\s>]/g) ?? []).length
    log(`${target.name.padEnd(10)} 200, ${Buffer.byteLength(body)} bytes, ${rows} table rows`)
  }

  // Statements per request: a second app and page.cjs through the counting proxy, untimed.
  const proxy = await startCountingProxy(proxyPort)
  log(
    `counting statements: proxy :${proxyPort} → ${serverUrl.hostname}:${serverUrl.port || 5432}, ` +
      `app :${proxyAppPort}, page.cjs :${proxyPagePort}`
  )
  const proxyApp = await startApp('app via proxy', proxyAppPort, appKey, proxy.url)
  const proxyPage = await startPage('page via proxy', proxyPagePort, proxy.url)
  let statements
  try {
    statements = await countStatements(
      proxy,
      targetsOn(
        `http://127.0.0.1:${proxyAppPort}`,
        `http://127.0.0.1:${proxyPagePort}`,
        proxyApp.pid,
        proxyPage.pid
      )
    )
  } finally {
    await stopChild(proxyApp)
    await stopChild(proxyPage)
    await proxy.close()
  }

  const admin = new pg.Client({ connectionString: urlFor('postgres') })
  await admin.connect()
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
    const paired = rs.map((r, i) => r.rps / of('page.cjs')[i].rps)
    return {
      target: t.name,
      rps: pick('rps'),
      p50: pick('p50'),
      p99: pick('p99'),
      serverCpu: pick('serverCpu'),
      usPerReq: pick('usPerReq'),
      dbUs: pick('dbUs'),
      loadCpu: pick('loadCpu'),
      bad: rs.reduce((s, r) => s + r.bad, 0),
      ratio: median(paired),
      ratioMin: Math.min(...paired),
      ratioMax: Math.max(...paired),
      statements: statements.get(t.name).median,
      dataStatements: statements.get(t.name).data,
      statementsMean: statements.get(t.name).mean,
    }
  })
  const verdict = (ok) => (ok === null ? '-' : ok ? 'MET' : 'NOT MET')
  const goals = (s) => {
    if (s.target === 'page.cjs') return 'reference'
    const cpuGoal = s.target === 'landing' ? GOAL_LANDING_US : GOAL_US
    const parts = [
      `CPU ≤ ${cpuGoal} µs ${verdict(s.usPerReq === null ? null : s.usPerReq <= cpuGoal)}`,
    ]
    if (s.target !== 'landing') {
      parts.unshift(`ratio ≥ ${GOAL_RATIO} ${verdict(s.ratio >= GOAL_RATIO)}`)
      parts.push(
        `data stmts ≤ ${GOAL_STATEMENTS} ${verdict(s.dataStatements <= GOAL_STATEMENTS)}` +
          ` (all ${verdict(s.statements <= GOAL_STATEMENTS)})`
      )
    }
    return parts.join(' · ')
  }
  const TABLE =
    `${'page'.padEnd(10)} ${pad('req/s', 8)} ${pad('×page.cjs (rounds)', 22)} ${pad('µs/req', 8)} ` +
    `${pad('dbµs/req', 9)} ${pad('rt/req', 7)} ${pad('data', 5)} ${pad('(mean)', 7)}  goals`
  const LINE = (s) =>
    `${s.target.padEnd(10)} ${pad(fmt(s.rps), 8)} ` +
    `${pad(`${fmt(s.ratio, 3)} (${fmt(s.ratioMin, 3)}–${fmt(s.ratioMax, 3)})`, 22)} ` +
    `${pad(fmt(s.usPerReq, 1), 8)} ${pad(fmt(s.dbUs, 1), 9)} ${pad(fmt(s.statements, 0), 7)} ` +
    `${pad(fmt(s.dataStatements, 0), 5)} ${pad(fmt(s.statementsMean, 2), 7)}  ${goals(s)}`
  const bad = summary.filter((s) => s.bad > 0)
  console.log(
    [
      '',
      '==================================== summary ====================================',
      `${new Date().toISOString()}  ${os.availableParallelism()} cores  PostgreSQL ${pgVersion}  ` +
        (pinned ? 'pinned' : 'not pinned'),
      `${ROUNDS} rounds × ${DURATION}s, ${CONNECTIONS} connections, warm-up ${WARMUP}s; medians over rounds`,
      `machine busy before the run (other processes): ${idleBusy === null ? '-' : `${(idleBusy * 100).toFixed(0)}%`}`,
      `load average: ${loadAtStart} at start, ${loadavg()} now`,
      '',
      `median ${HEADER}`,
      ...summary.map((s) => `       ${ROW(s)}`),
      '',
      TABLE,
      ...summary.map(LINE),
      '',
      `×page.cjs: median of the per-round paired req/s ratios (min–max); µs/req: the server process's`,
      `CPU per request; dbµs/req: the bench database's backends; rt/req: statements ('Q' + 'E'`,
      `messages) per request counted through a proxy, median over ` +
        `${COUNT_BATCHES}×${COUNT_REQUESTS} sequential requests;`,
      `data: the same without transaction control (BEGIN, which carries the tenant binding, and`,
      `COMMIT);`,
      `(mean): count delta / ${COUNT_REQUESTS} of the best batch, the app's background timers included.`,
      `Goals: tenant pages ≥ ${GOAL_RATIO}× page.cjs, ≤ ${GOAL_US} µs server CPU and ` +
        `≤ ${GOAL_STATEMENTS} statements per`,
      `request; landing page ≤ ${GOAL_LANDING_US} µs server CPU per request.`,
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
