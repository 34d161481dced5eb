/*
 * Scale-out proof (`npm run test:scaleout`, run by .ci/run): two web processes of a production
 * build on different ports and one `queue:work` worker, sharing one PostgreSQL database and one
 * Redis. It checks that
 *   two migration runs started at once migrate once;
 *   a session made on one web process works on the other;
 *   a dashboard cached by one is served by the other (the analytics cache in Redis);
 *   a token revoked through one is refused by the other at once (cache invalidation);
 *   a run started through one streams to an SSE client of the other;
 *   the API rate limit is one budget across both;
 *   concurrent runs through both keep `credits:verify` clean;
 *   killing the worker in the middle of runs loses none of them.
 * Exit 0 when every check holds; one line per failed check otherwise. Needs PostgreSQL on
 * 127.0.0.1:5432 (trust) and Redis on 127.0.0.1:6379 (like the test suite).
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
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

const say = (...args) => console.log('[scaleout]', ...args)
const failures = []
const check = (ok, message) => {
  say(`${ok ? 'ok  ' : 'FAIL'} ${message}`)
  if (!ok) failures.push(message)
}

const database = `agora_scaleout_${process.pid}`
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
const DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${database}`
const REDIS_URL = 'redis://127.0.0.1:6379/9'
const RATE = 200
const pg = requireFromProject('pg')

async function query(sql, params = [], connectionString = DATABASE_URL) {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    return (await client.query(sql, params)).rows
  } finally {
    await client.end()
  }
}

// The fault suite's build (compiled once, reused when up to date).
const BUILD = privateBuild('faults')
const [portA, portB] = await freePorts(2, 55700, 55900)
const env = {
  ...process.env,
  NODE_ENV: 'production',
  APP_KEY: randomBytes(24).toString('base64url'),
  APP_URL: `http://127.0.0.1:${portA}`,
  DATABASE_URL,
  REDIS_URL,
  SMTP_URL: 'smtp://127.0.0.1:1',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  RATE_LIMIT_API_PER_MIN: String(RATE),
  RUN_TIMEOUT_S: '20',
  RUN_OWNER_TIMEOUT_S: '4',
  SHUTDOWN_GRACE_S: '3',
}
const A = `http://127.0.0.1:${portA}`
const B = `http://127.0.0.1:${portB}`

function ace(args, extraEnv = {}) {
  const result = spawnSync(NODE, ['ace', ...args], {
    cwd: BUILD,
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
  })
  return {
    code: result.status,
    stdout: result.stdout.trim(),
    out: `${result.stdout}${result.stderr}`,
  }
}
function aceAsync(args) {
  return new Promise((resolve) => {
    const child = spawn(NODE, ['ace', ...args], { cwd: BUILD, env })
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (out += c))
    child.on('exit', (code) => resolve({ code, out }))
  })
}

function web(port) {
  const child = startChild(`web:${port}`, NODE, [...SERVER_FLAGS, 'bin/server.js'], {
    cwd: BUILD,
    env: { ...env, PORT: String(port) },
  })
  return child
}
const worker = () =>
  startChild('worker', NODE, [...SERVER_FLAGS, 'ace', 'queue:work'], { cwd: BUILD, env })

/* --------------------------------------------------------------------------- a browser session */

const CSRF_FIELD = /name=['"]_csrf['"] value=['"]([^'"]+)['"]/

class Browser {
  cookies = new Map()
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }
  absorb(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';')
      const at = pair.indexOf('=')
      const name = pair.slice(0, at).trim()
      const value = pair.slice(at + 1)
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }
  async get(url) {
    const response = await fetch(url, { headers: { cookie: this.header() }, redirect: 'manual' })
    this.absorb(response)
    return { status: response.status, text: await response.text() }
  }
  async post(url, fields) {
    const origin = new URL(url).origin
    const account = await this.get(`${origin}/account`)
    const csrf =
      CSRF_FIELD.exec(account.text)?.[1] ??
      CSRF_FIELD.exec((await this.get(`${origin}/login`)).text)?.[1]
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'cookie': this.header(),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ _csrf: csrf ?? '', ...fields }),
      redirect: 'manual',
    })
    this.absorb(response)
    return { status: response.status, location: response.headers.get('location') }
  }
}

/* ------------------------------------------------------------------------------------ checks */

async function main() {
  await query(`CREATE DATABASE ${database}`, [], ADMIN_URL)
  say(`database ${database}, Redis db 9, web on :${portA} and :${portB}`)

  // 1. Two deploys migrating at once: each migration is applied once.
  const migrations = await Promise.all([aceAsync(['migrate']), aceAsync(['migrate'])])
  check(
    migrations.every((m) => m.code === 0),
    `two concurrent migration runs both succeed${migrations.map((m) => (m.code ? `\n${m.out}` : '')).join('')}`
  )
  const twice = await query(
    `SELECT name, count(*)::int AS n FROM adonis_schema GROUP BY name HAVING count(*) > 1`
  )
  const applied = (await query(`SELECT count(*)::int AS n FROM adonis_schema`))[0].n
  check(
    twice.length === 0 && applied > 0,
    `each of the ${applied} migrations is recorded once${twice.length ? `; twice: ${twice.map((r) => r.name).join(', ')}` : ''}`
  )

  const workspaces = ace(['bench:workspaces', '--prefix=scaleout', '--count=3'])
  if (workspaces.code !== 0) throw new Error(`bench:workspaces failed:\n${workspaces.out}`)
  const [w1, w2, w3] = workspaces.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
  const email = `scaleout-${process.pid}@example.com`
  const password = `Scale-${randomUUID()}`
  if (ace(['user:create', email, `--password=${password}`, '--name=Scale Out']).code !== 0)
    throw new Error('user:create failed')
  if (ace(['tenant:create', `so-${process.pid}`, '--name=Scale', `--owner=${email}`]).code !== 0)
    throw new Error('tenant:create failed')
  const revocable = ace(['token:create', email, `--tenant=so-${process.pid}`]).stdout

  const webA = web(portA)
  const webB = web(portB)
  let work = worker()
  await Promise.all([
    waitUntilUp(`${A}/health/ready`, webA, 90_000),
    waitUntilUp(`${B}/health/ready`, webB, 90_000),
  ])
  say('both web processes and the worker are up')

  // 2. A session made on A works on B.
  const browser = new Browser()
  const login = await browser.post(`${A}/login`, { email, password })
  const onA = await browser.get(`${A}/account`)
  const onB = await browser.get(`${B}/account`)
  check(
    login.status === 302 && onA.status === 200 && onB.status === 200 && onB.text.includes(email),
    `a session made on one process works on the other (login ${login.status} → ${login.location}, account on A ${onA.status}, on B ${onB.status})`
  )

  // 2b. The analytics dashboard A computed and cached (memory + Redis) is served by B from Redis.
  const dashboard = `/t/so-${process.pid}/analytics?range=30d`
  const pageA = await browser.get(`${A}${dashboard}`)
  const pageB = await browser.get(`${B}${dashboard}`)
  const hitsOnB = /analytics_cache_requests_total\{result="hit"\} (\d+)/.exec(
    await (await fetch(`${B}/metrics`)).text()
  )?.[1]
  check(
    pageA.status === 200 &&
      pageB.status === 200 &&
      pageB.text.includes('id="analytics-dashboard"') &&
      Number(hitsOnB) >= 1,
    `a dashboard cached by one process is served by the other from Redis (A ${pageA.status}, B ${pageB.status}, hits on B ${hitsOnB})`
  )

  // 3. A token revoked through A is refused by B at once (B has it cached first).
  const me = (base, token) =>
    fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then(
      (r) => r.status
    )
  const warm = await me(B, revocable)
  const tokens = await browser.get(`${A}/account/tokens`)
  const tokenId = /\/account\/tokens\/([^?"]+)\?_method=DELETE/.exec(tokens.text)?.[1]
  const revoked = tokenId
    ? await browser.post(`${A}/account/tokens/${tokenId}?_method=DELETE`, {})
    : { status: 0 }
  let after = 200
  const revokedAt = Date.now()
  while (Date.now() - revokedAt < 2000 && after === 200) {
    after = await me(B, revocable)
    if (after === 200) await sleep(50)
  }
  check(
    warm === 200 && revoked.status === 302 && after === 401,
    `a token revoked on one process is refused by the other within ${Date.now() - revokedAt} ms (${warm} → ${after})`
  )

  // 4. A run started through A streams to an SSE client of B.
  const auth = (token) => ({
    'authorization': `Bearer ${token}`,
    'content-type': 'application/json',
  })
  const started = await fetch(`${A}/api/v1/agents/bench/runs`, {
    method: 'POST',
    headers: auth(w1.token),
    body: JSON.stringify({
      input: 'across',
      async: true,
      metadata: { simulate: { latency_ms: 800 } },
    }),
  })
  const run = await started.json()
  const stream = await fetch(`${B}/api/v1/runs/${run.id}/events`, {
    headers: { authorization: `Bearer ${w1.token}`, accept: 'text/event-stream' },
    signal: AbortSignal.timeout(20_000),
  })
  const frames = await stream.text()
  check(
    started.status === 202 && /event: done/.test(frames) && /event: delta/.test(frames),
    `a run started on one process streams its deltas and done to an SSE client of the other`
  )

  // 5. One rate-limit budget across both processes.
  const hit = async (base, n) => {
    const statuses = await Promise.all(Array.from({ length: n }, () => me(base, w2.token)))
    return {
      ok: statuses.filter((s) => s === 200).length,
      limited: statuses.filter((s) => s === 429).length,
    }
  }
  const onA1 = await hit(A, 130)
  const onB2 = await hit(B, 130)
  check(
    onA1.ok + onB2.ok <= RATE && onB2.limited >= 130 - (RATE - onA1.ok),
    `the API limit is shared: ${onA1.ok} + ${onB2.ok} answered of ${RATE}/min, ${onB2.limited} limited on the second process`
  )

  // 6. Concurrent runs through both processes keep the ledger exact.
  const runs = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      fetch(`${i % 2 ? A : B}/api/v1/agents/bench/runs`, {
        method: 'POST',
        headers: auth(w3.token),
        body: JSON.stringify({ input: `run ${i}`, metadata: { simulate: { latency_ms: 50 } } }),
      }).then((r) => r.status)
    )
  )
  const verified = ace(['credits:verify'])
  check(
    runs.every((s) => s === 201) && verified.code === 0 && verified.stdout === '',
    `60 concurrent runs through both processes: ${runs.filter((s) => s === 201).length} answered 201; credits:verify ${verified.code === 0 ? 'clean' : verified.out}`
  )

  // 7. Killing the worker in the middle of runs loses none.
  const queued = []
  for (let i = 0; i < 8; i++) {
    const response = await fetch(`${A}/api/v1/agents/bench/runs`, {
      method: 'POST',
      headers: auth(w1.token),
      body: JSON.stringify({
        input: `queued ${i}`,
        async: true,
        // The first token after 3 s: the echo of a short input is one chunk, and latency_ms
        // spreads only between chunks, so it alone left the runs running for a few ms.
        metadata: { simulate: { ttft_ms: 3000 } },
      }),
    })
    if (response.status === 202) queued.push((await response.json()).id)
  }
  const claimDeadline = Date.now() + 10_000
  let running = 0
  while (Date.now() < claimDeadline && running === 0) {
    running = (
      await query(`SELECT count(*)::int AS n FROM runs WHERE id = ANY($1) AND status = 'running'`, [
        queued,
      ])
    )[0].n
    if (!running) await sleep(100)
  }
  work.kill('SIGKILL')
  await work.exited
  say(`worker killed with ${running} of ${queued.length} runs running`)
  const endDeadline = Date.now() + 90_000
  let open = queued.length
  while (Date.now() < endDeadline && open > 0) {
    open = (
      await query(
        `SELECT count(*)::int AS n FROM runs WHERE id = ANY($1) AND status IN ('queued', 'running')`,
        [queued]
      )
    )[0].n
    if (open) await sleep(500)
  }
  const ended = await query(
    `SELECT status, count(*)::int AS n FROM runs WHERE id = ANY($1) GROUP BY status`,
    [queued]
  )
  const pending = (
    await query(`SELECT count(*)::int AS n FROM credit_holds WHERE status = 'pending'`)
  )[0].n
  check(
    queued.length === 8 && running > 0 && open === 0 && ended.reduce((s, r) => s + r.n, 0) === 8,
    `killing the worker mid-run loses no run: ${ended.map((r) => `${r.n} ${r.status}`).join(', ')} (${running} were running)`
  )
  const finalVerify = ace(['credits:verify'])
  check(
    pending === 0 && finalVerify.code === 0,
    `afterwards no credits stay held (${pending} pending) and credits:verify is clean`
  )
  work = null
}

let status = 0
try {
  await main()
} catch (error) {
  failures.push(`the scale-out run failed: ${error.stack ?? error.message}`)
} finally {
  await stopAll()
  await query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`, [], ADMIN_URL).catch(() => {})
  spawnSync('redis-cli', ['-n', '9', 'flushdb'], { stdio: 'ignore' })
}
if (failures.length) {
  for (const failure of failures) console.error(`[scaleout] FAILED: ${failure}`)
  status = 1
} else say('every check holds')
process.exit(status)
