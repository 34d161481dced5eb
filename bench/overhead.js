/*
 * Platform overhead per run: the same streamed chat completion called directly on the fake
 * upstream (mockllm.cjs), through the hand-written pass-through proxy (gateway.cjs MODE=pass) and
 * through Agora's OpenAI-compatible endpoint (/api/v1/chat/completions, a catalog model served by
 * an openai_compatible provider pointed at mockllm; auth, tenant, hold, run record, settle, events
 * included), measured in ONE run by ../shared/bench-baselines/overhead.cjs: sequential keep-alive
 * requests, interleaved rounds, median of round medians and p99 per target.
 * Goal: Agora's median overhead ≤ 2 ms and p99 ≤ 8 ms over direct.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/<scratch db> npm run bench:overhead [-- --rounds 9 --per 60]
 *
 * PostgreSQL only. It migrates the database, creates a bench user, tenant (with credits), token and
 * a platform provider + model with `node ace` commands, runs the server from the sources (ts-exec,
 * NODE_ENV=production, LOG_LEVEL=warn) on ports 36xx, and removes the provider and tenant at the
 * end. Options: --rounds N (9), --per N (60 requests per target per round), --cpu-prof (profile the
 * Agora server into tmp/bench-profiles/), --pin (server on core 0, client on core 1).
 * Exit 0 whether or not the goal is met; 1 when it cannot run or `credits:verify` finds a violation.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  NODE,
  ROOT,
  freePorts,
  log,
  onCore,
  requireFromProject,
  sleep,
  startChild,
  stopAll,
  waitUntilUp,
} from './support.js'

const BASELINES = process.env.BASELINES || join(ROOT, '..', 'shared', 'bench-baselines')
const { values: opts } = parseArgs({
  options: {
    'rounds': { type: 'string', default: '9' },
    'per': { type: 'string', default: '60' },
    'cpu-prof': { type: 'boolean', default: false },
    'pin': { type: 'boolean', default: false },
  },
})

const DATABASE_URL = process.env.DATABASE_URL
if (!DATABASE_URL) {
  console.error(
    'bench:overhead needs DATABASE_URL (PostgreSQL): PGlite serialises every query and would measure itself.'
  )
  process.exit(1)
}
const where = (core) => (opts.pin ? onCore(core) : (cmd, args) => [cmd, args])

function ace(args, env) {
  const result = spawnSync(NODE, ['ace', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  })
  if (result.status !== 0)
    throw new Error(`node ace ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`)
  return result.stdout.trim().split('\n').pop()
}

/** overhead.cjs in its own process; its lines: "<name>: median X ms, p99 Y ms, overhead vs direct Z ms". */
function measure(targets, token, body) {
  return new Promise((resolve, reject) => {
    const [cmd, args] = where(1)(NODE, [join(BASELINES, 'overhead.cjs')])
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        TARGETS: targets,
        AUTH: token,
        BODY: body,
        ROUNDS: opts.rounds,
        PER: opts.per,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`overhead.cjs exited ${code}: ${out}`))
    )
  })
}

function parse(out) {
  const rows = {}
  for (const line of out.split('\n')) {
    const m = /^(\w+): median ([\d.]+) ms, p99 ([\d.]+) ms, overhead vs \w+ (-?[\d.]+) ms/.exec(
      line.trim()
    )
    if (m) rows[m[1]] = { median: Number(m[2]), p99: Number(m[3]), overhead: Number(m[4]) }
  }
  return rows
}

const cleanups = []

async function withDb(fn) {
  const pg = requireFromProject('pg')
  const db = new pg.Client({ connectionString: DATABASE_URL })
  await db.connect()
  try {
    return await fn(db)
  } finally {
    await db.end()
  }
}

async function main() {
  const env = {
    NODE_ENV: 'production',
    APP_KEY: randomBytes(24).toString('base64url'),
    DATABASE_URL,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    REDIS_URL: process.env.REDIS_URL ?? '',
  }
  if (!env.REDIS_URL) delete env.REDIS_URL
  log('migrating')
  ace(['migration:run', '--force'], env)

  // Upper 36xx (other benchmarks start at 3600); the upstreams take their ports at once.
  const [mockPort, passPort] = await freePorts(2, 3660, 3699)
  startChild('mockllm', ...where(0)(NODE, [join(BASELINES, 'mockllm.cjs')]), {
    cwd: ROOT,
    env: { ...process.env, PORT: String(mockPort) },
  })
  startChild('gateway', ...where(0)(NODE, [join(BASELINES, 'gateway.cjs')]), {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_PATH: join(ROOT, 'node_modules'),
      MODE: 'pass',
      PORT: String(passPort),
      UPSTREAM_PORT: String(mockPort),
    },
  })
  const slug = `ovh-${randomBytes(3).toString('hex')}`
  const email = `${slug}@bench.test`
  const providerSlug = `bench-mock-${randomBytes(3).toString('hex')}`
  cleanups.push(() =>
    withDb(async (db) => {
      await db.query('DELETE FROM providers WHERE slug = $1 AND tenant_id IS NULL', [providerSlug])
      await db.query('DELETE FROM tenants WHERE slug = $1', [slug])
      await db.query('DELETE FROM users WHERE email = $1', [email])
    })
  )
  const model = `${providerSlug}/m`
  log('creating the bench tenant, credits, token, provider and model')
  ace(['user:create', email, `--password=${randomBytes(16).toString('hex')}`], env)
  ace(['tenant:create', slug, `--name=${slug}`, `--owner=${email}`], env)
  ace(['credits:grant', slug, '1000000', '--reason=bench:overhead'], env)
  const token = ace(['token:create', email, `--tenant=${slug}`], env)
  // Platform-wide (admins may point at private addresses); no retries: a failure must show.
  ace(
    [
      'provider:create',
      providerSlug,
      '--kind=openai_compatible',
      `--base-url=http://127.0.0.1:${mockPort}/v1`,
      '--settings={"max_retries":0}',
    ],
    env
  )
  ace(
    ['provider:model', providerSlug, model, '--upstream=m', '--input-price=1', '--output-price=2'],
    env
  )

  const [appPort] = await freePorts(1, passPort + 1, 3699)
  const profileDir = join(ROOT, 'tmp', 'bench-profiles')
  if (opts['cpu-prof']) mkdirSync(profileDir, { recursive: true })
  const nodeArgs = [
    '--import=@poppinss/ts-exec',
    ...(opts['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    'bin/server.ts',
  ]
  const app = startChild('agora', ...where(0)(NODE, nodeArgs), {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(appPort) },
  })
  await waitUntilUp(`http://127.0.0.1:${appPort}/health/ready`, app, 60_000)

  const body = JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] })
  const check = await fetch(`http://127.0.0.1:${appPort}/api/v1/chat/completions`, {
    method: 'POST',
    headers: { 'authorization': `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  })
  const text = await check.text()
  if (check.status !== 200 || !text.includes('tok19') || !text.includes('[DONE]'))
    throw new Error(
      `Agora's endpoint did not stream the mock's answer: ${check.status} ${text.slice(0, 500)}`
    )

  log(
    `measuring: ${opts.rounds} interleaved rounds × ${opts.per} sequential requests per target ` +
      '(after 50 warm-up requests each)'
  )
  const targets = `direct:${mockPort},pass:${passPort},agora:${appPort}/api/v1/chat/completions`
  const out = await measure(targets, token, body)
  const rows = parse(out)

  await sleep(1500) // the last runs settle right after their answers
  const verify = spawnSync(NODE, ['ace', 'credits:verify', slug], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  })
  const runs = await withDb((db) =>
    db.query(
      `SELECT status, count(*)::int AS n FROM runs r JOIN tenants t ON t.id = r.tenant_id
       WHERE t.slug = $1 GROUP BY status`,
      [slug]
    )
  )

  const agora = rows.agora
  const direct = rows.direct
  const date = new Date().toISOString().slice(0, 10)
  const load = (await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ')
  console.log(
    `\n== platform overhead per streamed run (${date}, PostgreSQL${env.REDIS_URL ? ' + Redis' : ''}, load ${load}) ==`
  )
  console.log(out.trim())
  if (agora && direct) {
    const p99Overhead = agora.p99 - direct.p99
    console.log(
      `\nAgora over direct: median +${agora.overhead.toFixed(3)} ms ` +
        `(goal ≤ 2 ms: ${agora.overhead <= 2 ? 'met' : 'missed'}), ` +
        `p99 +${p99Overhead.toFixed(3)} ms (goal ≤ 8 ms: ${p99Overhead <= 8 ? 'met' : 'missed'})`
    )
    if (rows.pass)
      console.log(
        `pass-through proxy over direct: median +${rows.pass.overhead.toFixed(3)} ms, ` +
          `p99 +${(rows.pass.p99 - direct.p99).toFixed(3)} ms`
      )
    const pass = rows.pass ? `${rows.pass.median.toFixed(3)} / ${rows.pass.p99.toFixed(3)}` : '—'
    console.log(
      `\n| ${date} | ${direct.median.toFixed(3)} / ${direct.p99.toFixed(3)} | ${pass} ` +
        `| ${agora.median.toFixed(3)} / ${agora.p99.toFixed(3)} ` +
        `| +${agora.overhead.toFixed(3)} / +${p99Overhead.toFixed(3)} | ${load} |`
    )
  }
  console.log(`runs recorded: ${runs.rows.map((r) => `${r.status} ${r.n}`).join(', ')}`)
  console.log(
    `credits:verify: ${verify.status === 0 ? 'clean' : `VIOLATIONS\n${verify.stdout}${verify.stderr}`}`
  )
  if (opts['cpu-prof'])
    console.log(`CPU profile of the Agora server: ${profileDir} (written when the server stops)`)
  if (verify.status !== 0) process.exitCode = 1
}

try {
  await main()
} catch (error) {
  console.error(error.message ?? error)
  process.exitCode = 1
} finally {
  await stopAll()
  // The bench rows go even when the measurement failed (the platform provider is visible to all).
  for (const cleanup of cleanups)
    await cleanup().catch((error) => console.error('cleanup failed:', error.message))
}
