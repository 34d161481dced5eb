/*
 * Run throughput: agent runs started and settled per second through Agora's API (simulator at
 * zero latency, one hold + settle per run) against the hand-written ledger gateway
 * (../shared/bench-baselines/gateway.cjs MODE=ledger, streaming from mockllm.cjs) in one run,
 * interleaved rounds, median ratio. PostgreSQL only: DATABASE_URL is required.
 *
 *   DATABASE_URL=postgres://… npm run bench:runs [-- --rounds 3 --duration 8 --connections 50 --tenants 500]
 *     [--variant tools]
 *
 * `--variant tools`: each Agora run makes 3 calculator calls (one model call asking for them,
 * three tool-call steps, one model call answering) — the tool loop's cost per run against the
 * same gateway, plus a plain-run round for the tool loop's own price.
 *
 * Fair by construction: the gateway spreads its runs over 500 accounts, so Agora's requests go
 * round-robin over as many workspaces (one token and agent each, `bench:workspaces`); Agora
 * counts only runs that ended `succeeded` (from the runs table), the gateway its 2xx answers.
 * Afterwards `credits:verify` must be clean. Exit 1 only if it cannot run.
 */
import { spawnSync } from 'node:child_process'
import os from 'node:os'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  freePorts,
  log,
  median,
  NODE,
  onCore,
  privateBuild,
  requireFromProject,
  ROOT,
  SERVER_FLAGS,
  startChild,
  stopAll,
  waitUntilUp,
} from './support.js'

const BASELINES = process.env.BASELINES || join(ROOT, '..', 'shared', 'bench-baselines')
const { values: opts } = parseArgs({
  options: {
    'rounds': { type: 'string', default: '3' },
    'duration': { type: 'string', default: '8' },
    'connections': { type: 'string', default: '50' },
    'tenants': { type: 'string', default: '500' },
    'no-build': { type: 'boolean', default: false },
    'load-spec': { type: 'string', default: '' },
    'variant': { type: 'string', default: 'plain' },
  },
})

if (opts['load-spec']) {
  // Load worker (own process): POSTs with a JSON body.
  const spec = JSON.parse(opts['load-spec'])
  const autocannon = requireFromProject('autocannon')
  // With tokens, requests go round-robin over the workspaces (one Authorization each).
  let next = 0
  const requests = spec.tokens
    ? [
        {
          setupRequest: (request) => ({
            ...request,
            headers: {
              ...request.headers,
              authorization: `Bearer ${spec.tokens[next++ % spec.tokens.length]}`,
            },
          }),
        },
      ]
    : undefined
  const result = await autocannon({
    url: spec.url,
    method: spec.method,
    body: spec.body,
    headers: spec.headers,
    connections: spec.connections,
    duration: spec.duration,
    requests,
  })
  process.stdout.write(
    JSON.stringify({
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      total: result.requests.total,
      bad: result.errors + result.timeouts + result.non2xx,
      statuses: result.statusCodeStats,
    }) + '\n'
  )
  process.exit(0)
}

const DATABASE_URL = process.env.DATABASE_URL
if (!DATABASE_URL) {
  console.error(
    'bench:runs needs DATABASE_URL (PostgreSQL): PGlite serialises everything and measures nothing useful here.'
  )
  process.exit(1)
}
const pg = requireFromProject('pg')
let BUILD

function ace(args, env = {}) {
  const result = spawnSync(NODE, ['ace', ...args], {
    cwd: BUILD,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  })
  if (result.status !== 0)
    throw new Error(`node ace ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`)
  return result.stdout.trim()
}

function load(spec) {
  const [cmd, args] = onCore(1)(NODE, [
    join(ROOT, 'bench', 'runs.js'),
    '--load-spec',
    JSON.stringify(spec),
  ])
  const result = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`load worker failed: ${result.stderr}`)
  return JSON.parse(result.stdout.trim().split('\n').pop())
}

async function main() {
  BUILD = privateBuild('bench-runs', { noBuild: opts['no-build'] })
  const env = {
    NODE_ENV: 'production',
    APP_KEY: randomBytes(24).toString('base64url'),
    DATABASE_URL,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
  }
  log('migrating')
  ace(['migration:run', '--force'], env)

  // Baseline tables (gateway.cjs) in the same database.
  const client = new pg.Client({ connectionString: DATABASE_URL })
  await client.connect()
  await client.query('CREATE TABLE IF NOT EXISTS balances (id int PRIMARY KEY, amount bigint)')
  await client.query(
    'CREATE TABLE IF NOT EXISTS ledger (account int, idem text UNIQUE, delta bigint)'
  )
  await client.query('TRUNCATE ledger')
  await client.query(
    `INSERT INTO balances SELECT g, 1000000000000 FROM generate_series(0, 600) g
     ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount`
  )
  await client.end()

  const prefix = `rb${randomBytes(3).toString('hex')}`
  const tenants = Number(opts.tenants)
  log(`creating ${tenants} workspaces (bench:workspaces --prefix=${prefix})`)
  const tokens = ace(['bench:workspaces', `--prefix=${prefix}`, `--count=${tenants}`], env)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line).token)
  if (tokens.length !== tenants) throw new Error(`expected ${tenants} tokens, got ${tokens.length}`)

  const [appPort, gatewayPort, mockPort] = await freePorts(3, 3700, 3799)
  const mock = startChild('mockllm', ...onCore(0)(NODE, [join(BASELINES, 'mockllm.cjs')]), {
    cwd: ROOT,
    env: { ...process.env, PORT: String(mockPort) },
  })
  const gateway = startChild('gateway', ...onCore(0)(NODE, [join(BASELINES, 'gateway.cjs')]), {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_PATH: join(ROOT, 'node_modules'),
      MODE: 'ledger',
      PORT: String(gatewayPort),
      UPSTREAM_PORT: String(mockPort),
      DATABASE_URL,
    },
  })
  const app = startChild('app', ...onCore(0)(NODE, [...SERVER_FLAGS, 'bin/server.js']), {
    cwd: BUILD,
    env: { ...process.env, ...env, PORT: String(appPort) },
  })
  await waitUntilUp(`http://127.0.0.1:${appPort}/health/ready`, app, 30_000)
  await new Promise((r) => setTimeout(r, 500))
  void mock
  void gateway

  const connections = Number(opts.connections)
  const duration = Number(opts.duration)
  const targets = {
    gateway: {
      url: `http://127.0.0.1:${gatewayPort}/`,
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    },
    agora: {
      url: `http://127.0.0.1:${appPort}/api/v1/agents/bench/runs`,
      method: 'POST',
      body: JSON.stringify({ input: 'hello bench' }),
      headers: { 'content-type': 'application/json' },
      tokens,
    },
  }
  if (opts.variant === 'tools')
    targets.tools = {
      url: `http://127.0.0.1:${appPort}/api/v1/agents/bench-tools/runs`,
      method: 'POST',
      body: JSON.stringify({
        input: ['17*23', '2^10', 'sqrt(144)']
          .map((e) => `/tool calculator {"expression":"${e}"}`)
          .join('\n'),
      }),
      headers: { 'content-type': 'application/json' },
      tokens,
    }
  else if (opts.variant !== 'plain') throw new Error('--variant is plain or tools')
  const db = new pg.Client({ connectionString: DATABASE_URL })
  await db.connect()
  /** Runs of the bench workspaces created in [from, to), by status. */
  const runsBetween = async (from, to) => {
    const { rows } = await db.query(
      `SELECT r.status, count(*)::int AS n FROM runs r JOIN tenants t ON t.id = r.tenant_id
        WHERE t.slug LIKE $1 AND r.created_at >= $2 AND r.created_at < $3 GROUP BY r.status`,
      [`${prefix}-%`, from, to]
    )
    return Object.fromEntries(rows.map((row) => [row.status, row.n]))
  }
  log('warm-up')
  for (const spec of Object.values(targets)) load({ ...spec, connections, duration: 3 })
  const results = Object.fromEntries(Object.keys(targets).map((name) => [name, []]))
  for (let i = 0; i < Number(opts.rounds); i++) {
    for (const [name, spec] of Object.entries(targets)) {
      const from = new Date()
      const r = load({ ...spec, connections, duration })
      if (name !== 'gateway') {
        // Only runs that ended `succeeded` count (a 201 may carry a failed run).
        await new Promise((resolve) => setTimeout(resolve, 1000))
        const statuses = await runsBetween(from, new Date())
        r.rps = (statuses.succeeded ?? 0) / duration
        r.statuses = statuses
      }
      results[name].push(r)
      log(
        `round ${i + 1} ${name}: ${r.rps.toFixed(0)} runs/s p50 ${r.p50} ms p99 ${r.p99} ms ` +
          `non-2xx/errors ${r.bad}${r.statuses ? ` runs ${JSON.stringify(r.statuses)}` : ''} ` +
          `load ${os.loadavg()[0].toFixed(2)}`
      )
    }
  }
  await db.end()
  const verify = spawnSync(NODE, ['ace', 'credits:verify'], {
    cwd: BUILD,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  })
  ace(['bench:workspaces', `--prefix=${prefix}`, '--remove'], env)
  const gw = median(results.gateway.map((r) => r.rps))
  const ag = median(results.agora.map((r) => r.rps))
  console.log('\n== run throughput (simulator, zero latency, PostgreSQL) ==')
  console.log(
    `connections ${connections}, ${opts.rounds} rounds × ${duration}s, interleaved; ` +
      `${tenants} workspaces vs the gateway's 500 accounts; ` +
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' / ')}`
  )
  console.log(
    `gateway.cjs MODE=ledger : ${gw.toFixed(0)} runs/s (p99 ${median(results.gateway.map((r) => r.p99))} ms)`
  )
  console.log(
    `Agora POST …/runs       : ${ag.toFixed(0)} succeeded runs/s ` +
      `(p99 ${median(results.agora.map((r) => r.p99))} ms), ` +
      `errors/non-2xx ${results.agora.reduce((s, r) => s + r.bad, 0)}`
  )
  console.log(`ratio Agora/gateway     : ${(ag / gw).toFixed(2)}× (goal ≥ 1.0×)`)
  if (results.tools) {
    const tl = median(results.tools.map((r) => r.rps))
    console.log(
      `Agora tool loop (3 calls): ${tl.toFixed(0)} succeeded runs/s ` +
        `(p99 ${median(results.tools.map((r) => r.p99))} ms), ` +
        `errors/non-2xx ${results.tools.reduce((s, r) => s + r.bad, 0)}`
    )
    console.log(
      `ratio tool loop/gateway : ${(tl / gw).toFixed(2)}×; tool loop/plain run: ${(tl / ag).toFixed(2)}×`
    )
  }
  console.log(
    `credits:verify          : ${verify.status === 0 ? 'clean' : `VIOLATIONS\n${verify.stdout}`}`
  )
}

try {
  await main()
} catch (error) {
  console.error(error.message ?? error)
  process.exitCode = 1
} finally {
  await stopAll()
}
