/*
 * Fault suite (`npm run test:faults`, run by .ci/run): a production build against its own
 * PostgreSQL cluster (Debian's pg_createcluster on a spare port) and its own Redis, under steady
 * load (runs waited for, runs streamed over SSE, queued runs followed over SSE, API reads, pages),
 * while it:
 *   restarts PostgreSQL · kills the app's database connections · stops PostgreSQL for 6 s ·
 *   stops Redis for 6 s · SIGKILLs the app (and starts it again).
 * Then checks: the process survived every blip; no 500 (503 with Retry-After is fine); every run
 * acknowledged with a 2xx exists with the status and cost it was answered with; no credits stay
 * held; `credits:verify` and `audit:verify` are clean. Loopback only, bounded in time.
 * Exit code 0 when every check holds; one line per failed check otherwise. The app's log is kept
 * in tmp/faults/app.log.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { createWriteStream, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  freePorts,
  NODE,
  privateBuild,
  requireFromProject,
  SERVER_FLAGS,
  sleep,
  startChild,
  stopAll,
  waitUntilUp,
} from '../../bench/support.js'

const say = (...args) => console.log('[faults]', ...args)
const t0 = Date.now()
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`

/* --------------------------------------------------------------------------- environment */

const version = readdirSync('/etc/postgresql').sort().at(-1)
const cluster = `agora_faults_${process.pid}`
const [pgPort, redisPort, appPort] = await freePorts(3, 55400, 55600)
const DATABASE_URL = `postgres://postgres@127.0.0.1:${pgPort}/agora`
const REDIS_URL = `redis://127.0.0.1:${redisPort}/0`
const RUN_TIMEOUT_S = 10
const pg = requireFromProject('pg')

function sh(cmd, args, { allowFail = false } = {}) {
  const result = spawnSync(cmd, args, { encoding: 'utf8' })
  if (result.status !== 0 && !allowFail)
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`)
  return result
}
/** pg_ctlcluster without blocking the event loop (the load goes on meanwhile). */
function pgctl(action, ...extra) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'pg_ctlcluster',
      ['--skip-systemctl-redirect', version, cluster, action, ...extra],
      { stdio: 'ignore' }
    )
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`pg_ctlcluster ${action} exited ${code}`))
    )
  })
}

let cleaned = false
async function cleanup() {
  if (cleaned) return
  cleaned = true
  await stopAll()
  sh('pg_dropcluster', ['--stop', version, cluster], { allowFail: true })
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)))

async function query(sql, params = [], connectionString = DATABASE_URL) {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    return (await client.query(sql, params)).rows
  } finally {
    await client.end()
  }
}

/* ------------------------------------------------------------------------------- the app */

const BUILD = privateBuild('faults')
const env = {
  ...process.env,
  NODE_ENV: 'production',
  APP_KEY: randomBytes(24).toString('base64url'),
  DATABASE_URL,
  REDIS_URL,
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  PORT: String(appPort),
  RUN_TIMEOUT_S: String(RUN_TIMEOUT_S),
  RUN_OWNER_TIMEOUT_S: '5',
  SHUTDOWN_GRACE_S: '5',
}
const base = `http://127.0.0.1:${appPort}`

function ace(args) {
  const result = spawnSync(NODE, ['ace', ...args], { cwd: BUILD, env, encoding: 'utf8' })
  return { code: result.status, out: `${result.stdout}${result.stderr}`.trim() }
}

let redis = null
function startRedis() {
  redis = startChild(
    'redis',
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {}
  )
}

let app = null
const appExits = []
const appLog = createWriteStream(join(BUILD, '..', 'app.log'))
async function startApp() {
  app = startChild('app', NODE, [...SERVER_FLAGS, 'bin/server.js'], { cwd: BUILD, env })
  app.stdout.on('data', (chunk) => appLog.write(chunk))
  app.stderr.on('data', (chunk) => appLog.write(chunk))
  const child = app
  child.exited.then((exit) =>
    appExits.push({
      at: phase,
      ...exit,
      deliberate: child.deliberate === true,
      tail: child.tail.slice(-15),
    })
  )
  await waitUntilUp(`${base}/health/live`, app, 60_000)
}

/* ------------------------------------------------------------------------------- the load */

let phase = 'setup'
let lastFaultAt = Date.now()
let loading = true
const stats = new Map() // phase → { ok, s503, s500, other, network, slowest }
const failures = []
const acknowledged = [] // { id, status, cost, how }
const missingRetryAfter = []
const redisPages = [] // /login latencies while Redis is down

function count(kind, detail) {
  if (!stats.has(phase)) stats.set(phase, { ok: 0, s503: 0, s500: 0, other: 0, network: 0 })
  stats.get(phase)[kind]++
  if (kind === 's500') failures.push(`500 during "${phase}": ${detail}`)
  if (kind === 'network' && phase !== 'app SIGKILLed')
    failures.push(`connection failed during "${phase}": ${detail}`)
}

async function call(label, path, init = {}) {
  const started = Date.now()
  try {
    const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(20_000) })
    const text = await response.text()
    const ms = Date.now() - started
    if (response.status === 503) {
      await sleep(100)
      count('s503')
      if (!response.headers.get('retry-after')) missingRetryAfter.push(`${label} during "${phase}"`)
    } else if (response.status >= 500)
      count('s500', `${label} → ${response.status} ${text.slice(0, 200)}`)
    else if (response.ok) count('ok')
    else count('other', `${label} → ${response.status}`)
    return { status: response.status, text, ms, headers: response.headers }
  } catch (error) {
    count('network', `${label}: ${error.cause?.code ?? error.message}`)
    await sleep(100)
    return { status: 0, text: '', ms: Date.now() - started }
  }
}

async function runWorker(token) {
  const headers = { 'authorization': `Bearer ${token}`, 'content-type': 'application/json' }
  while (loading) {
    const key = randomUUID()
    const body = JSON.stringify({
      input: `hello ${key}`,
      metadata: { simulate: { latency_ms: 150 } },
    })
    const response = await call('POST run', '/api/v1/agents/bench/runs', {
      method: 'POST',
      headers: { ...headers, 'idempotency-key': key },
      body,
    })
    if (response.status === 201) {
      const run = JSON.parse(response.text)
      acknowledged.push({
        id: run.id,
        status: run.status,
        cost: run.cost_credits,
        how: 'wait',
        token,
        phase,
        ms: response.ms,
      })
    }
  }
}

async function streamWorker(token) {
  const headers = {
    'authorization': `Bearer ${token}`,
    'content-type': 'application/json',
    'accept': 'text/event-stream',
  }
  while (loading) {
    const response = await call('POST run (SSE)', '/api/v1/agents/bench/runs', {
      method: 'POST',
      headers,
      body: JSON.stringify({
        input: 'stream me please',
        metadata: { simulate: { latency_ms: 300 } },
      }),
    })
    if (response.status !== 200) continue
    const frames = response.text.split('\n\n').filter((frame) => frame.includes('event:'))
    const last = frames.at(-1) ?? ''
    const event = /event: (\w+)/.exec(last)?.[1]
    const data = /data: (.*)/.exec(last)?.[1]
    if (event === 'done' && data) {
      const run = JSON.parse(data)
      acknowledged.push({
        id: run.id,
        status: run.status,
        cost: run.cost_credits,
        how: 'sse',
        token,
        phase,
        ms: response.ms,
      })
    }
  }
}

/** Follows runs it did not start (GET …/events): replays stored events, then live ones. */
async function followWorker(token) {
  const headers = { authorization: `Bearer ${token}`, accept: 'text/event-stream' }
  while (loading) {
    const started = await call('POST run (async)', '/api/v1/agents/bench/runs', {
      method: 'POST',
      headers: { 'authorization': `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        input: 'follow me',
        async: true,
        metadata: { simulate: { latency_ms: 400 } },
      }),
    })
    if (started.status !== 202) continue
    await call('GET run events (SSE)', `/api/v1/runs/${JSON.parse(started.text).id}/events`, {
      headers,
    })
  }
}

async function readWorker(token) {
  const headers = { authorization: `Bearer ${token}` }
  while (loading) {
    const list = await call('GET runs', '/api/v1/runs?limit=5', { headers })
    const id = list.status === 200 ? JSON.parse(list.text).data?.[0]?.id : null
    if (id) await call('GET run', `/api/v1/runs/${id}`, { headers })
    await sleep(50)
  }
}

async function pageWorker() {
  while (loading) {
    const response = await call('GET /login', '/login')
    if (phase === 'Redis stopped' && response.status !== 0) redisPages.push(response.ms)
    await sleep(100)
  }
}

/* ------------------------------------------------------------------------------ the faults */

async function steady(name, ms) {
  phase = name
  say(`${elapsed()} ${name}`)
  await sleep(ms)
}

function assertAlive(after) {
  if (app.exitCode !== null || app.signalCode !== null)
    failures.push(`the app process exited after "${after}": ${app.tail.slice(-10).join(' | ')}`)
}

async function main() {
  say(
    `PostgreSQL ${version} cluster ${cluster} on :${pgPort}, Redis on :${redisPort}, app on :${appPort}`
  )
  sh('pg_createcluster', [version, cluster, '-p', String(pgPort), '--', '--auth=trust'])
  await pgctl('start')
  const admin = `postgres://postgres@127.0.0.1:${pgPort}/postgres`
  await query('CREATE DATABASE agora', [], admin).catch(async () => {
    // The cluster may need a moment to accept connections.
    await sleep(1000)
    await query('CREATE DATABASE agora', [], admin)
  })
  startRedis()
  const migrated = ace(['migration:run', '--force'])
  if (migrated.code !== 0) throw new Error(`migrations failed:\n${migrated.out}`)
  const created = ace(['bench:workspaces', '--prefix=fault', '--count=4'])
  if (created.code !== 0) throw new Error(`bench:workspaces failed:\n${created.out}`)
  const tokens = created.out
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line).token)
  await startApp()
  say(`${elapsed()} app up; load starts`)

  const workers = [
    ...tokens.map((token) => runWorker(token)),
    ...tokens.slice(0, 2).map((token) => runWorker(token)),
    ...tokens.slice(0, 2).map((token) => streamWorker(token)),
    followWorker(tokens[2]),
    readWorker(tokens[0]),
    readWorker(tokens[1]),
    pageWorker(),
  ]

  await steady('steady', 3000)

  phase = 'PostgreSQL restart'
  say(`${elapsed()} ${phase}`)
  await pgctl('restart', '-m', 'fast')
  await steady('after PostgreSQL restart', 4000)
  assertAlive('PostgreSQL restart')

  phase = 'connections killed'
  say(`${elapsed()} ${phase} (10×)`)
  for (let i = 0; i < 10; i++) {
    await query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'agora' AND pid <> pg_backend_pid()`
    ).catch(() => {})
    await sleep(300)
  }
  await steady('after connections killed', 3000)
  assertAlive('connections killed')

  phase = 'PostgreSQL stopped'
  say(`${elapsed()} ${phase} (6 s)`)
  await pgctl('stop', '-m', 'fast')
  await sleep(6000)
  await pgctl('start')
  const back = Date.now()
  let recoveredMs = null
  while (Date.now() - back < 15_000) {
    const probe = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(2000) }).catch(
      () => null
    )
    if (probe?.ok) {
      recoveredMs = Date.now() - back
      break
    }
    await sleep(50)
  }
  say(`${elapsed()} ready again ${recoveredMs ?? 'never'} ms after PostgreSQL started`)
  if (recoveredMs === null) failures.push('not ready within 15 s of PostgreSQL starting again')
  await steady('after PostgreSQL stopped', 3000)
  assertAlive('PostgreSQL stopped')

  phase = 'Redis stopped'
  say(`${elapsed()} ${phase} (6 s)`)
  redis.kill('SIGTERM')
  await redis.exited
  await sleep(6000)
  startRedis()
  await steady('after Redis stopped', 4000)
  assertAlive('Redis stopped')

  phase = 'app SIGKILLed'
  say(`${elapsed()} ${phase}`)
  app.deliberate = true
  app.kill('SIGKILL')
  lastFaultAt = Date.now()
  await app.exited
  await sleep(500)
  await startApp()
  await steady('after app SIGKILLed', 4000)

  loading = false
  await Promise.all(workers)
  phase = 'settling'
  say(`${elapsed()} load stopped; ${acknowledged.length} runs acknowledged`)
}

/* ------------------------------------------------------------------------------ the checks */

async function checks() {
  // Runs the killed process owned are recovered (owner timeout 5 s, then the next sweep); a run
  // it had queued but not claimed ends when queued runs time out (RUN_TIMEOUT_S + 30 s after it
  // was created, then the next sweep). Wait for whichever comes later, no longer.
  const deadline = Math.max(Date.now() + 30_000, lastFaultAt + (RUN_TIMEOUT_S + 30 + 10) * 1000)
  let open = []
  while (Date.now() < deadline) {
    open = await query(
      `SELECT id, status, created_at FROM runs WHERE status IN ('queued', 'running')`
    )
    if (!open.length) break
    await sleep(1000)
  }
  if (open.length)
    failures.push(
      `${open.length} run(s) still unfinished past their recovery deadline: ${open
        .slice(0, 3)
        .map(
          (r) => `${r.id} (${r.status}, created ${r.created_at?.toISOString?.() ?? r.created_at})`
        )
        .join(', ')}`
    )
  // A hold whose run was never written (the process died, or the database went away between the
  // hold and the run) is freed by expiry: RUN_TIMEOUT_S + 60 s after it was placed, then the
  // sweeper (every 10 s). Wait for that from the last fault, no longer.
  const holdsDeadline = lastFaultAt + (RUN_TIMEOUT_S + 60 + 15) * 1000
  let pending = []
  for (;;) {
    pending = await query(
      `SELECT h.id, h.reference, h.created_at, h.expires_at FROM credit_holds h WHERE h.status = 'pending'`
    )
    if (!pending.length || Date.now() > holdsDeadline) break
    await sleep(2000)
  }
  say(`${elapsed()} holds all resolved: ${pending.length ? 'no' : 'yes'}`)
  if (pending.length)
    failures.push(
      `${pending.length} hold(s) still pending past RUN_TIMEOUT_S + 60 s (credits held): ${JSON.stringify(pending.slice(0, 3))}`
    )

  // Read back through the API (the same formatting as the answers).
  let lost = 0
  for (const run of acknowledged) {
    const response = await fetch(`${base}/api/v1/runs/${run.id}`, {
      headers: { authorization: `Bearer ${run.token}` },
    })
    const row = response.ok ? await response.json() : null
    if (!row) {
      lost++
      failures.push(
        `run ${run.id} answered ${run.status} (${run.how}) is not found (${response.status})`
      )
    } else if (row.status !== run.status || row.cost_credits !== run.cost) {
      lost++
      failures.push(
        `run ${run.id} answered ${run.status} at ${run.cost} (${run.how}, "${run.phase}", ${run.ms} ms) is stored ${row.status} at ${row.cost_credits}: ${JSON.stringify(row.error ?? null)}`
      )
    }
  }
  for (const [name, args] of [
    ['credits:verify', ['credits:verify']],
    ['audit:verify', ['audit:verify']],
  ]) {
    const result = ace(args)
    if (result.code !== 0)
      failures.push(
        `${name} exit ${result.code}:\n  ${result.out.split('\n').slice(0, 8).join('\n  ')}`
      )
  }
  for (const exit of appExits)
    if (!exit.deliberate)
      failures.push(
        `the app exited (${exit.code ?? exit.signal}) during "${exit.at}": ${exit.tail.join(' | ')}`
      )
  if (missingRetryAfter.length)
    failures.push(
      `${missingRetryAfter.length} 503(s) without Retry-After, e.g. ${missingRetryAfter[0]}`
    )

  say('requests by phase (ok / 503 / 500 / other 4xx / connection failed):')
  for (const [name, s] of stats)
    say(`  ${name.padEnd(28)} ${s.ok} / ${s.s503} / ${s.s500} / ${s.other} / ${s.network}`)
  const slowest = redisPages.length ? Math.max(...redisPages) : null
  say(`/login while Redis was down: ${redisPages.length} answers, slowest ${slowest ?? '-'} ms`)
  if (slowest !== null && slowest > 1000)
    failures.push(`/login took ${slowest} ms while Redis was down (should fail fast)`)
  say(`${acknowledged.length} acknowledged runs checked, ${lost} lost or misreported`)
  if (acknowledged.length < 50)
    failures.push(`only ${acknowledged.length} runs were acknowledged: the load did not run`)
}

let code = 0
try {
  await main()
  await checks()
  if (failures.length) {
    code = 1
    say(`FAILED (${failures.length}):`)
    for (const line of failures.slice(0, 40)) say(`  ✖ ${line}`)
    // What the app logged about the runs named above (CI keeps no tmp/).
    const ids =
      failures.join(' ').match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ??
      []
    if (ids.length) {
      const log = await readFile(join(BUILD, '..', 'app.log'), 'utf8').catch(() => '')
      for (const line of log
        .split('\n')
        .filter((l) => ids.some((id) => l.includes(id)))
        .slice(0, 20))
        say(`  log: ${line.slice(0, 400)}`)
    }
  } else {
    say(`passed in ${elapsed()}`)
  }
} catch (error) {
  code = 1
  say('FAILED:', error.stack ?? error)
} finally {
  await cleanup()
}
process.exit(code)
