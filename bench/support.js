/*
 * Shared plumbing for "ratio in one run" benchmarks: child servers and their cleanup, core
 * pinning, free ports, per-process CPU from /proc, and one autocannon round in its own process
 * (optionally with request headers, e.g. a session cookie).
 *
 *   node bench/support.js --worker <url> <connections> <seconds> [headers-json]
 *
 * runs one round and prints one JSON line (autocannon's result + the worker's CPU share).
 *
 *   node bench/support.js --open-loop <spec-json>
 *
 * runs one open-loop measurement (fixed arrival rate, latency from the intended send time; see
 * `openLoop`) and prints one JSON line. Also: a private production build per benchmark
 * (`privateBuild`), `node ace` in a build (`runAce`), a pg client for one task (`withDb`).
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

// Benchmarks and the fault suite measure capacity from one token and one workspace: the API and
// run-start rate limits (CONTRACT.md defaults 1200 and 600 a minute) would cap them, so the apps
// they start get limits no load reaches, unless the caller sets them.
process.env.RATE_LIMIT_API_PER_MIN ??= '100000000'
process.env.RATE_LIMIT_RUNS_PER_MIN ??= '100000000'
// Production refuses to boot without SMTP_URL. Benchmarks and the fault suite send no mail, so
// the apps they start (as NODE_ENV=production) get a closed local port, unless the caller sets one.
process.env.SMTP_URL ||= 'smtp://127.0.0.1:1'
const SELF = fileURLToPath(import.meta.url)
export const requireFromProject = createRequire(join(ROOT, 'package.json'))

// The project pins Node (the `node` dependency); every child runs on that binary when present.
const PINNED_NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node')
export const NODE = existsSync(PINNED_NODE) ? PINNED_NODE : process.execPath

/** The V8 flags `npm start` passes (e.g. the young generation's size): benches start the same. */
export const SERVER_FLAGS = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start.match(
    /\bnode((?:\s+--[\w-]+(?:=\S+)?)*)\s/
  )?.[1] ?? ''
)
  .split(/\s+/)
  .filter(Boolean)

export const log = (...args) => console.error('[bench]', ...args)
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/* ------------------------------------------------------------------ processes and cleanup */

const children = new Set()

/** Spawns a long-lived child, keeping the tail of its output for error reports. */
export function startChild(name, cmd, args, options) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  child.benchName = name
  child.tail = []
  const keep = (chunk) => {
    child.tail.push(...chunk.toString().split('\n').filter(Boolean))
    if (child.tail.length > 40) child.tail.splice(0, child.tail.length - 40)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  child.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal }))
  )
  child.exited.then(() => children.delete(child))
  children.add(child)
  return child
}

/** Stops every child: SIGINT first (`node ace serve`-style servers ignore SIGTERM), then SIGKILL. */
export async function stopAll() {
  await Promise.all(
    [...children].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 8000)
      await child.exited
      clearTimeout(timer)
    })
  )
}

const stopHooks = []
/** `fn()` also runs when the benchmark is interrupted (after the children stop), e.g. removing its rows. */
export function onInterrupt(fn) {
  stopHooks.push(fn)
}

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    log(`${signal}: stopping servers`)
    await stopAll()
    for (const hook of stopHooks)
      await Promise.resolve()
        .then(hook)
        .catch((error) => log('cleanup failed:', error.message))
    process.exit(130)
  })
}

/* ------------------------------------------------------------------------ cores and ports */

/** `taskset -c N` prefix when taskset exists and this machine lets us use cores 0 and 1. */
function pinning() {
  if (os.availableParallelism() < 2) return null
  for (const core of ['0', '1']) {
    const probe = spawnSync('taskset', ['-c', core, 'true'], { stdio: 'ignore' })
    if (probe.error || probe.status !== 0) return null
  }
  return (core) => (cmd, args) => ['taskset', ['-c', String(core), cmd, ...args]]
}
const pin = pinning()
export const pinned = pin !== null
export const onCore = (core) => (pin ? pin(core) : (cmd, args) => [cmd, args])

function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** `count` free ports from `from` up to `to` (never 3333, the app's default). */
export async function freePorts(count, from, to) {
  const ports = []
  for (let port = from; port <= to && ports.length < count; port++)
    if (port !== 3333 && (await portFree(port))) ports.push(port)
  if (ports.length < count) throw new Error(`not enough free ports in ${from}–${to}`)
  return ports
}

export async function waitUntilUp(url, child, timeoutMs, headers = {}) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${child.benchName} exited before answering:\n  ${child.tail.join('\n  ')}`)
    }
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(2000) })
      await response.arrayBuffer()
      if (response.ok) return
    } catch {}
    await sleep(250)
  }
  throw new Error(
    `${url} did not answer within ${timeoutMs / 1000}s${child ? `:\n  ${child.tail.join('\n  ')}` : ''}`
  )
}

/** Signs in through the login form like a browser; resolves with the Cookie header to send. */
export async function formLogin(base, email, password) {
  const jar = new Map()
  const absorb = (response) => {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';')
      const at = pair.indexOf('=')
      jar.set(pair.slice(0, at), pair.slice(at + 1))
    }
  }
  const cookie = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
  const form = await fetch(`${base}/login`)
  absorb(form)
  const csrf = /name='_csrf' value='([^']+)'/.exec(await form.text())?.[1]
  if (!csrf) throw new Error('no CSRF token on /login')
  const response = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'cookie': cookie() },
    body: new URLSearchParams({ _csrf: csrf, email, password }),
  })
  absorb(response)
  if (response.status !== 302 || (response.headers.get('location') ?? '').startsWith('/login'))
    throw new Error(`login failed: ${response.status} ${response.headers.get('location')}`)
  return cookie()
}

/* ------------------------------------------------------------------------------------ load */

export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100

/** CPU ticks (user+system) a process used so far, from /proc; null where unavailable. */
export function processTicks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return null
  }
}

export function runLoad(target, connections, seconds) {
  const [cmd, args] = onCore(1)(NODE, [
    SELF,
    '--worker',
    target.url,
    String(connections),
    String(seconds),
    JSON.stringify(target.headers ?? {}),
    JSON.stringify(target.requests ?? null),
  ])
  return workerResult('load worker', cmd, args)
}

/** Runs a worker child of this file and resolves with the JSON on its last stdout line. */
function workerResult(name, cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => (err += chunk))
    child.once('error', reject)
    child.once('exit', (code) => {
      children.delete(child)
      if (code !== 0) return reject(new Error(`${name} exited ${code}: ${err}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()))
      } catch {
        reject(new Error(`${name} printed no result: ${out}${err}`))
      }
    })
  })
}

/**
 * One round of load on `target` ({name, url, pid?, headers?, requests?}) from a worker on
 * core 1, with the server's CPU time per request (a figure that does not depend on the load generator).
 */
export async function round(target, connections, seconds) {
  const before = target.pid ? processTicks(target.pid) : null
  const started = process.hrtime.bigint()
  const result = await runLoad(target, connections, seconds)
  const wallS = Number(process.hrtime.bigint() - started) / 1e9
  const ticks = before !== null ? processTicks(target.pid) - before : null
  return {
    target: target.name,
    rps: result.requests.average,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    serverCpu: ticks !== null ? ticks / CLK_TCK / wallS : null,
    usPerReq:
      ticks !== null && result.requests.total
        ? (ticks / CLK_TCK / result.requests.total) * 1e6
        : null,
    loadCpu: result.loadCpu,
    bad: result.errors + result.timeouts + result.non2xx,
  }
}

/**
 * Waits until process `pid` uses less than `below` of a core over 500 ms (e.g. a server still
 * working off requests its clients gave up on), at most `timeoutMs`. Returns the seconds waited,
 * or null when it never became idle (or /proc is unavailable).
 */
export async function waitIdle(pid, { below = 0.1, timeoutMs = 60_000 } = {}) {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    const before = processTicks(pid)
    await sleep(500)
    const after = processTicks(pid)
    if (before === null || after === null) return null
    if ((after - before) / CLK_TCK / 0.5 < below) return (Date.now() - started) / 1000
  }
  return null
}

/** Busy share of the whole machine over `ms` (other processes' noise shows here). */
export async function machineBusy(ms = 1000) {
  const sample = () =>
    readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  try {
    const a = sample()
    await sleep(ms)
    const b = sample()
    const d = b.map((value, i) => value - a[i])
    const idle = d[3] + (d[4] || 0)
    const total = d.reduce((sum, value) => sum + value, 0)
    return total ? 1 - idle / total : null
  } catch {
    return null
  }
}

/* ---------------------------------------------------------------- build, ace and database */

function newestMtime(path) {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = stat.mtimeMs
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue
    newest = Math.max(newest, newestMtime(join(path, entry)))
  }
  return newest
}

/**
 * A production build of the app in tmp/<name>/build, never the shared build/ (other engineers'
 * benchmarks may be running from it, and the sources may be mid-edit): compiled through a
 * tsconfig that only moves outDir, with --ignore-ts-errors (type errors do not change the emitted
 * JavaScript). Rebuilt when missing or older than the sources; `noBuild` reuses it as it is.
 * Imports resolve up to the project's node_modules. Returns the build directory.
 */
export function privateBuild(name, { noBuild = false } = {}) {
  const dir = join(ROOT, 'tmp', name)
  const build = join(dir, 'build')
  const entry = join(build, 'bin', 'server.js')
  const built = existsSync(entry) ? statSync(entry).mtimeMs : 0
  if (noBuild) {
    if (!built) throw new Error(`--no-build but ${entry} is missing`)
    log(`--no-build: using tmp/${name}/build as it is`)
    return build
  }
  const sources = [
    'app',
    'bin',
    'config',
    'start',
    'database',
    'resources',
    'public',
    'adonisrc.ts',
    'package.json',
    'tsconfig.json',
  ]
  if (built && built >= Math.max(...sources.map((source) => newestMtime(join(ROOT, source))))) {
    log(`tmp/${name}/build is up to date`)
    return build
  }
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: { rootDir: '../../', outDir: './build' },
      include: ['../../**/*', '../../.adonisjs/server/**/*'],
      exclude: ['../../build/**', '../../node_modules/**', '../../tmp/**', '../../tests/**'],
    })
  )
  log(`compiling the app into tmp/${name}/build`)
  const result = spawnSync(
    NODE,
    ['ace', 'build', `--tsconfig=tmp/${name}/tsconfig.json`, '--ignore-ts-errors'],
    { cwd: ROOT, encoding: 'utf8' }
  )
  if (result.status !== 0 || !existsSync(entry))
    throw new Error(
      `node ace build into tmp/${name}/build failed:\n${result.stdout}${result.stderr}`
    )
  const tsErrors = `${result.stdout}${result.stderr}`
    .split('\n')
    .filter((line) => /error TS\d+/.test(line))
  if (tsErrors.length)
    log(
      `warning: the sources have ${tsErrors.length} TypeScript error(s) (emitted anyway):\n  ` +
        tsErrors.slice(0, 5).join('\n  ')
    )
  return build
}

/** `node ace <args>` in `cwd` (the project or a build); its stdout, trimmed. Throws on failure. */
export function runAce(args, { cwd = ROOT, env = {} } = {}) {
  const result = spawnSync(NODE, ['ace', ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  })
  if (result.status !== 0)
    throw new Error(`node ace ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`)
  return result.stdout.trim()
}

/** One pg client for `fn(client)`, closed afterwards. */
export async function withDb(connectionString, fn) {
  const pg = requireFromProject('pg')
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/* ---------------------------------------------------------------------- open-loop load */

/** Nearest-rank percentile of an ascending array (null when empty). */
export function percentile(sorted, p) {
  if (!sorted.length) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/**
 * One open-loop measurement from a worker process (on core 1 unless `where` says otherwise):
 * requests at fixed intended send times (`rate`/s, evenly spaced, precomputed), each sent when
 * its time comes whether or not earlier ones completed (keep-alive node:http Agent with up to
 * `connections` sockets; beyond that they wait in the client, and that wait counts), each one's
 * latency = completion − INTENDED send time, so a stalled server is never hidden by a stalled
 * client (no coordinated omission). The first `warmup` seconds are sent but not recorded.
 *
 * spec: { origin, rate, seconds, warmup?, connections?, timeoutMs?, pid?, seed?,
 *         mix: [{ name, weight, method?, path, headers?, body? }] }
 * The kinds are interleaved in shuffled decks of sum(weights) (after dividing by their gcd), so
 * every deck has the exact proportions. A request unanswered `timeoutMs` after its intended time
 * is aborted and counted as error "timeout" with that latency; every request of the window
 * (answered, refused or failed) is in the percentiles. Result: { sent, completed, ok, errors
 * {status or code: n}, achieved (2xx/s over the window up to the last completion), latency
 * {all, kinds: {name: {n, p50, p95, p99, max, errors}}} in ms, sendLag {p50, p99, max} (how late the
 * generator sent; high = the generator itself was short of CPU), serverCpu (cores used by `pid`
 * over the window), loadCpu (generator), machineCpu (every process, in cores), load1 }.
 */
export function openLoop(spec, where = onCore(1)) {
  const [cmd, args] = where(NODE, [SELF, '--open-loop', JSON.stringify(spec)])
  return workerResult('open-loop worker', cmd, args)
}

function machineTicks() {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number)
    return user + nice + system + irq + softirq + (steal || 0)
  } catch {
    return null
  }
}

async function openLoopWorker(spec) {
  const http = await import('node:http')
  const { performance } = await import('node:perf_hooks')
  const {
    rate,
    seconds,
    warmup = 0,
    connections = 200,
    timeoutMs = 10_000,
    pid = null,
    seed = 1,
  } = spec
  const origin = new URL(spec.origin)
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: connections,
    maxFreeSockets: connections,
    scheduling: 'lifo',
  })
  const kinds = spec.mix.map((kind) => ({
    ...kind,
    method: kind.method ?? 'GET',
    headers: {
      ...(kind.headers ?? {}),
      ...(kind.body ? { 'content-length': Buffer.byteLength(kind.body) } : {}),
    },
  }))

  // The schedule: request i is due at t0 + i / rate; its kind comes from shuffled decks.
  const gcd = (a, b) => (b ? gcd(b, a % b) : a)
  const g = kinds.reduce((acc, kind) => gcd(acc, kind.weight), 0)
  const deck = kinds.flatMap((kind, k) => Array(kind.weight / g).fill(k))
  let state = seed >>> 0 || 1
  const random = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32 // deterministic per seed
  const total = Math.round(rate * (warmup + seconds))
  const first = Math.round(rate * warmup) // first recorded request
  const kindOf = new Uint16Array(total)
  for (let i = 0; i < total; i += deck.length) {
    const d = [...deck]
    for (let j = d.length - 1; j > 0; j--) {
      const r = Math.floor(random() * (j + 1))
      ;[d[j], d[r]] = [d[r], d[j]]
    }
    for (let j = 0; j < d.length && i + j < total; j++) kindOf[i + j] = d[j]
  }
  const interval = 1000 / rate
  const latency = new Float64Array(total)
  const lag = new Float64Array(total)
  const outcome = new Array(total)
  const ended = new Float64Array(total)
  const inflight = new Map()
  const t0 = performance.now() + 100
  const due = (i) => t0 + i * interval

  const finish = (i, result) => {
    if (!inflight.has(i)) return
    inflight.delete(i)
    const now = performance.now()
    latency[i] = now - due(i)
    ended[i] = now
    outcome[i] = result
  }
  const send = (i) => {
    const kind = kinds[kindOf[i]]
    lag[i] = performance.now() - due(i)
    const req = http.request({
      host: origin.hostname,
      port: origin.port,
      method: kind.method,
      path: kind.path,
      headers: kind.headers,
      agent,
    })
    inflight.set(i, req)
    req.on('response', (res) => {
      res.on('data', () => {})
      res.on('end', () => finish(i, res.statusCode))
      res.on('error', (error) => finish(i, error.code ?? 'error'))
    })
    req.on('error', (error) => finish(i, error.code ?? 'error'))
    req.end(kind.body)
  }
  const sweep = setInterval(() => {
    const now = performance.now()
    for (const [i, req] of inflight) {
      if (now - due(i) > timeoutMs) {
        finish(i, 'timeout')
        req.destroy()
      }
    }
  }, 50)

  // CPU of the server, this process and the machine over the recorded window.
  let windowStart = null
  let windowEnd = null
  const sample = () => ({
    at: performance.now(),
    server: pid ? processTicks(pid) : null,
    machine: machineTicks(),
    self: process.cpuUsage(),
  })
  setTimeout(() => (windowStart = sample()), Math.max(0, due(first) - performance.now()))

  await new Promise((resolve) => {
    let next = 0
    const tick = () => {
      const now = performance.now()
      while (next < total && due(next) <= now) send(next++)
      if (next < total) setTimeout(tick, Math.max(0, due(next) - performance.now()))
      else resolve()
    }
    setTimeout(tick, Math.max(0, t0 - performance.now()))
  })
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, due(total) - performance.now())))
  windowEnd = sample()
  const load1 = os.loadavg()[0]
  while (inflight.size) await sleep(20)
  clearInterval(sweep)
  agent.destroy()

  const stats = (values) => {
    const s = Float64Array.from(values).sort()
    return {
      n: s.length,
      p50: percentile(s, 50),
      p95: percentile(s, 95),
      p99: percentile(s, 99),
      max: s.length ? s[s.length - 1] : null,
    }
  }
  const errors = {}
  const perKind = kinds.map(() => [])
  const kindErrors = kinds.map(() => ({}))
  const all = []
  const lags = []
  let ok = 0
  let completed = 0
  let lastEnd = 0
  for (let i = first; i < total; i++) {
    const result = outcome[i]
    if (typeof result === 'number') completed++
    if (typeof result === 'number' && result >= 200 && result < 300) {
      ok++
      lastEnd = Math.max(lastEnd, ended[i])
    } else {
      errors[result] = (errors[result] ?? 0) + 1
      kindErrors[kindOf[i]][result] = (kindErrors[kindOf[i]][result] ?? 0) + 1
    }
    all.push(latency[i])
    perKind[kindOf[i]].push(latency[i])
    lags.push(lag[i])
  }
  const wallS = windowStart && windowEnd ? (windowEnd.at - windowStart.at) / 1000 : null
  const cores = (a, b) => (wallS && a !== null && b !== null ? (b - a) / CLK_TCK / wallS : null)
  const selfUs =
    windowStart && windowEnd
      ? windowEnd.self.user +
        windowEnd.self.system -
        windowStart.self.user -
        windowStart.self.system
      : null
  const lagStats = stats(lags)
  return {
    rate,
    seconds,
    warmup,
    sent: total - first,
    completed,
    ok,
    errors,
    achieved: lastEnd && windowStart ? ok / ((lastEnd - windowStart.at) / 1000) : 0,
    latency: {
      all: stats(all),
      kinds: Object.fromEntries(
        kinds.map((kind, k) => [kind.name, { ...stats(perKind[k]), errors: kindErrors[k] }])
      ),
    },
    sendLag: { p50: lagStats.p50, p99: lagStats.p99, max: lagStats.max },
    serverCpu: windowStart && windowEnd ? cores(windowStart.server, windowEnd.server) : null,
    machineCpu: windowStart && windowEnd ? cores(windowStart.machine, windowEnd.machine) : null,
    loadCpu: selfUs !== null && wallS ? selfUs / 1e6 / wallS : null,
    load1,
  }
}

if (process.argv[2] === '--open-loop') {
  const result = await openLoopWorker(JSON.parse(process.argv[3]))
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(0)
}

if (process.argv[2] === '--worker') {
  const [url, connections, seconds, headers, requests] = process.argv.slice(3)
  const autocannon = requireFromProject('autocannon')
  const cpuBefore = process.cpuUsage()
  const wallBefore = process.hrtime.bigint()
  const result = await autocannon({
    url,
    connections: Number(connections),
    duration: Number(seconds),
    headers: JSON.parse(headers || '{}'),
    // A mix: each connection cycles through these ({method, path, body?, headers?}).
    ...(JSON.parse(requests || 'null') ? { requests: JSON.parse(requests) } : {}),
  })
  const cpu = process.cpuUsage(cpuBefore)
  const wallUs = Number(process.hrtime.bigint() - wallBefore) / 1e3
  process.stdout.write(
    JSON.stringify({
      requests: result.requests,
      latency: result.latency,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      // share of one core the load generator used while it ran (1 = saturated)
      loadCpu: (cpu.user + cpu.system) / wallUs,
    }) + '\n'
  )
  process.exit(0)
}
