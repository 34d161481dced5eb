/*
 * HTTP throughput of the full AdonisJS stack against a bare node:http server, as a ratio measured
 * in one run (never an absolute threshold: machines here are noisy).
 *
 *   npm run bench:http [-- --no-build --rounds 5 --duration 5 --warmup 5 --connections 50]
 *
 * 1. builds the app for production into tmp/bench-http/build when missing or older than the sources;
 * 2. starts its `bin/server.js` (NODE_ENV=production) and the bare baseline
 *    (../shared/bench-baselines/bare.cjs), both pinned to core 0 when taskset works;
 * 3. runs autocannon in a separate process (bench/support.js --worker) pinned to core 1, one warm-up
 *    round per target, then interleaved rounds: app /health/live, bare /, app /, app /health/live…;
 * 4. prints per-round and median figures and the ratios app/bare. Goal: /health/live ≥ 0.85× bare.
 *
 * Flags: --no-build, --rounds N, --duration S, --warmup S (0 = none), --connections N,
 * --app-port P, --bare-port P (3400–3499), --cpu-prof (profile the app server into
 * tmp/bench-profiles/), --target-url URL or TARGET_URL=URL (benchmark an app that is already
 * running instead of building/starting one), BARE=path (another baseline file).
 * Exit code 1 only when the benchmark could not run or a target answered errors (never because
 * the goal is missed).
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  CLK_TCK,
  log,
  median,
  NODE,
  onCore,
  pinned,
  privateBuild,
  processTicks,
  ROOT,
  runLoad,
  SERVER_FLAGS,
  startChild,
  stopAll,
  waitUntilUp,
} from './support.js'

let BUILD
const BARE = process.env.BARE || join(ROOT, '..', 'shared', 'bench-baselines', 'bare.cjs')
const GOAL = 0.85

const { values: opts } = parseArgs({
  options: {
    'no-build': { type: 'boolean', default: false },
    'rounds': { type: 'string', default: '5' },
    'duration': { type: 'string', default: '5' },
    'warmup': { type: 'string', default: '5' },
    'connections': { type: 'string', default: '50' },
    'app-port': { type: 'string', default: '3401' },
    'bare-port': { type: 'string', default: '3402' },
    'cpu-prof': { type: 'boolean', default: false },
    'target-url': { type: 'string', default: process.env.TARGET_URL || '' },
    'help': { type: 'boolean', short: 'h', default: false },
  },
})
if (opts.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0])
  process.exit(0)
}
const ROUNDS = Number(opts.rounds)
const DURATION = Number(opts.duration)
const WARMUP = Number(opts.warmup)
const CONNECTIONS = Number(opts.connections)
const EXTERNAL_APP = opts['target-url'].replace(/\/+$/, '')
for (const [name, value, min] of [
  ['rounds', ROUNDS, 1],
  ['duration', DURATION, 1],
  ['warmup', WARMUP, 0],
  ['connections', CONNECTIONS, 1],
]) {
  if (!Number.isInteger(value) || value < min) {
    console.error(`[bench] --${name} must be an integer ≥ ${min}`)
    process.exit(1)
  }
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** The requested port if free, else the next free one in 3400–3499 (never 3333 or 4000). */
async function choosePort(wanted, taken) {
  for (let port = wanted; port <= 3499; port++) {
    if (!taken.includes(port) && (await portFree(port))) return port
  }
  for (let port = 3400; port < wanted; port++) {
    if (!taken.includes(port) && (await portFree(port))) return port
  }
  throw new Error('no free port in 3400–3499')
}

/** Busy ticks of the whole machine (every core). */
function machineBusyTicks() {
  try {
    const [, ...nums] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)
    const [user, nice, system, , , irq, softirq, steal] = nums.map(Number)
    return user + nice + system + irq + softirq + (steal || 0)
  } catch {
    return null
  }
}

/** The commit under test, `+dirty` when the working tree has uncommitted changes. */
function revision() {
  const git = (...args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' })
  const head = git('rev-parse', '--short', 'HEAD')
  if (head.status !== 0) return 'unknown'
  return (
    head.stdout.trim() +
    (git('--no-optional-locks', 'status', '--porcelain').stdout.trim() ? '+dirty' : '')
  )
}

/* --------------------------------------------------------------------------------- servers */

async function startBare(port) {
  const [cmd, args] = onCore(0)(NODE, [BARE])
  const child = startChild('bare', cmd, args, {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port) },
  })
  await waitUntilUp(`http://127.0.0.1:${port}/`, child, 15_000)
  return child
}

async function startApp(port) {
  // The build resolves bare imports by walking up to the project's node_modules (build/ sits
  // inside the project), so no `npm ci` in build/ is needed; `#core/*` imports resolve through
  // build/package.json. The app root is the build, so its embedded database lives in its tmp/.
  const nodeFlags = []
  if (opts['cpu-prof']) {
    const dir = join(ROOT, 'tmp', 'bench-profiles')
    mkdirSync(dir, { recursive: true })
    nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${dir}`)
    log(`profiling the app server into ${dir}`)
  }
  const [cmd, args] = onCore(0)(NODE, [...SERVER_FLAGS, ...nodeFlags, 'bin/server.js'])
  const env = { ...process.env, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1' }
  env.APP_KEY = randomBytes(32).toString('base64url')
  env.LOG_LEVEL = 'warn'
  delete env.DATABASE_URL // embedded database (neither route under test queries it)
  const child = startChild('app', cmd, args, { cwd: BUILD, env })
  await waitUntilUp(`http://127.0.0.1:${port}/health/live`, child, 120_000)
  return child
}

/* ------------------------------------------------------------------------------------ load */

/** One round: load on the target, with the server's CPU time and the rest of the machine's. */
async function round(target, seconds) {
  const serverBefore = target.pid ? processTicks(target.pid) : null
  const busyBefore = machineBusyTicks()
  const started = process.hrtime.bigint()
  const result = await runLoad(target, CONNECTIONS, seconds)
  const wallS = Number(process.hrtime.bigint() - started) / 1e9
  const serverTicks =
    target.pid && serverBefore !== null ? processTicks(target.pid) - serverBefore : null
  const busyTicks = busyBefore !== null ? machineBusyTicks() - busyBefore : null
  const rps = result.requests.average
  const loadTicks = result.loadCpu * wallS * CLK_TCK
  return {
    target: target.name,
    rps,
    p50: result.latency.p50,
    p99: result.latency.p99,
    bad: result.errors + result.timeouts + result.non2xx,
    loadCpu: result.loadCpu,
    serverCpu: serverTicks !== null ? serverTicks / CLK_TCK / wallS : null,
    // CPU the server spent per request: a cross-check that does not depend on the load generator
    usPerReq:
      serverTicks !== null && result.requests.total
        ? (serverTicks / CLK_TCK / result.requests.total) * 1e6
        : null,
    // cores' worth of CPU used by everything else on the machine (noise), roughly
    otherCpu:
      busyTicks !== null && serverTicks !== null
        ? Math.max(0, busyTicks - serverTicks - loadTicks) / CLK_TCK / wallS
        : null,
  }
}

/* ------------------------------------------------------------------------------------ main */

const fmt = (x, digits = 0) =>
  x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits)
const pad = (s, n) => String(s).padStart(n)
const ROW = (r) =>
  `${r.target.padEnd(17)} ${pad(fmt(r.rps), 8)} ${pad(fmt(r.p50), 6)} ${pad(fmt(r.p99), 6)} ` +
  `${pad(fmt(r.serverCpu, 2), 7)} ${pad(fmt(r.loadCpu, 2), 7)} ${pad(fmt(r.otherCpu, 2), 7)} ` +
  `${pad(fmt(r.usPerReq, 1), 8)} ${pad(r.bad, 5)}`
const HEADER =
  `${'target'.padEnd(17)} ${pad('req/s', 8)} ${pad('p50ms', 6)} ${pad('p99ms', 6)} ${pad('srvCPU', 7)} ` +
  `${pad('loadCPU', 7)} ${pad('other', 7)} ${pad('µs/req', 8)} ${pad('bad', 5)}`

async function main() {
  const appPort = EXTERNAL_APP ? null : await choosePort(Number(opts['app-port']), [])
  const barePort = await choosePort(Number(opts['bare-port']), [appPort])

  log(
    `node ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()} (${NODE}), ` +
      `${os.availableParallelism()} cores`
  )
  log(
    pinned
      ? 'pinning: servers on core 0, load generator on core 1 (taskset)'
      : 'taskset unavailable: no pinning'
  )

  let appBase = EXTERNAL_APP
  let app = null
  if (!EXTERNAL_APP) {
    BUILD = privateBuild('bench-http', { noBuild: opts['no-build'] })
    log(`starting the app (tmp/bench-http/build/bin/server.js) on :${appPort}`)
    app = await startApp(appPort)
    appBase = `http://127.0.0.1:${appPort}`
  } else {
    log(`benchmarking the running app at ${appBase} (no build, no server CPU figures)`)
  }
  log(`starting the bare baseline (${BARE}) on :${barePort}`)
  const bare = await startBare(barePort)

  const targets = [
    { name: 'app /health/live', url: `${appBase}/health/live`, pid: app?.pid },
    { name: 'bare /', url: `http://127.0.0.1:${barePort}/`, pid: bare.pid },
    { name: 'app /', url: `${appBase}/`, pid: app?.pid },
  ]
  for (const target of targets) {
    const response = await fetch(target.url)
    const body = await response.text()
    if (!response.ok)
      throw new Error(`${target.url} answered ${response.status}: ${body.slice(0, 200)}`)
    log(
      `${target.name}: ${response.status}, ${body.length} bytes, ${response.headers.get('content-type')}`
    )
  }

  if (WARMUP > 0) {
    log(`warm-up: ${WARMUP}s per target`)
    for (const target of targets) await round(target, WARMUP)
  }

  console.log(`\n${ROUNDS} interleaved rounds × ${DURATION}s, ${CONNECTIONS} connections\n`)
  console.log(`round ${HEADER}`)
  const rows = []
  for (let i = 1; i <= ROUNDS; i++) {
    for (const target of targets) {
      const row = { round: i, ...(await round(target, DURATION)) }
      rows.push(row)
      console.log(`${pad(i, 5)} ${ROW(row)}`)
    }
  }

  // ------------------------------------------------------------------------------- summary
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
      loadCpu: pick('loadCpu'),
      otherCpu: pick('otherCpu'),
      usPerReq: pick('usPerReq'),
      bad: rs.reduce((sum, r) => sum + r.bad, 0),
    }
  })
  const ratio = (appName) => {
    const paired = of(appName).map((r, i) => r.rps / of('bare /')[i].rps)
    const a = summary.find((s) => s.target === appName)
    const b = summary.find((s) => s.target === 'bare /')
    return {
      pairedMedian: median(paired),
      min: Math.min(...paired),
      max: Math.max(...paired),
      ofMedians: a.rps / b.rps,
      cpu: a.usPerReq && b.usPerReq ? b.usPerReq / a.usPerReq : null,
    }
  }
  const live = ratio('app /health/live')
  const landing = ratio('app /')
  const bareSummary = summary.find((s) => s.target === 'bare /')

  const lines = [
    '',
    '==================================== summary ====================================',
    `${new Date().toISOString()}  commit ${revision()}  ${os.availableParallelism()} cores  ` +
      `node ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()}  ` +
      (pinned ? 'pinned (servers core 0, load core 1)' : 'not pinned'),
    `${ROUNDS} rounds × ${DURATION}s, ${CONNECTIONS} connections, warm-up ${WARMUP}s; medians over rounds`,
    '',
    `median ${HEADER}`,
    ...summary.map((s) => `       ${ROW(s)}`),
    '',
    'srvCPU/loadCPU: cores used by the server / the load generator; other: the rest of the machine.',
    'µs/req: server CPU time per request (independent of the load generator).',
    '',
    `/health/live  app/bare = ${live.pairedMedian.toFixed(3)}  ` +
      `(median of per-round ratios; range ${live.min.toFixed(3)}–${live.max.toFixed(3)}; ` +
      `ratio of medians ${live.ofMedians.toFixed(3)})`,
    `              goal ≥ ${GOAL}: ${live.pairedMedian >= GOAL ? 'MET' : 'NOT MET'}` +
      (live.cpu
        ? `   (CPU per request: app costs ${(1 / live.cpu).toFixed(2)}× bare → ${live.cpu.toFixed(3)})`
        : ''),
    `/ (landing)   app/bare = ${landing.pairedMedian.toFixed(3)}  ` +
      `(range ${landing.min.toFixed(3)}–${landing.max.toFixed(3)}; ratio of medians ${landing.ofMedians.toFixed(3)})`,
    '              informative only: a full HTML page (session, CSRF secret, CSP, Edge render) vs hello world',
  ]
  if (bareSummary.loadCpu !== null && bareSummary.loadCpu > 0.9) {
    lines.push(
      '',
      `WARNING: the load generator used ${bareSummary.loadCpu.toFixed(2)} of its core ` +
        'on the bare rounds: it may cap the',
      '         bare figure, which would flatter the app/bare ratio. Compare the µs/req ratio.'
    )
  }
  const noise = Math.max(...summary.map((s) => s.otherCpu ?? 0))
  if (noise > 0.3) {
    lines.push(
      '',
      `WARNING: other processes used ~${noise.toFixed(2)} cores during the rounds (median): the machine was busy,`,
      '         so req/s ratios are unreliable; trust the µs/req ratio more, or rerun when it is quiet.'
    )
  }
  const bad = summary.filter((s) => s.bad > 0)
  if (bad.length) {
    lines.push(
      '',
      `INVALID: errors/timeouts/non-2xx responses in ${bad.map((s) => `${s.target} (${s.bad})`).join(', ')}`
    )
  }
  lines.push('=================================================================================')
  console.log(lines.join('\n'))

  await stopAll()
  if (bad.length) process.exitCode = 1
}

main().catch(async (error) => {
  console.error(`[bench] failed: ${error.stack || error.message}`)
  await stopAll()
  process.exit(1)
})
