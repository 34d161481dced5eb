/*
 * Memory of the streamed CSV exports (issue 15): a million runs and a million ledger entries
 * downloaded from the production build while the server's resident memory is sampled.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:exports \
 *     [-- --rows 1000000 --db agora_bench_exports --no-build]
 *
 * 1. (re)creates the scratch database --db, migrates it, creates an owner and a workspace with
 *    `node ace`, then inserts --rows runs and --rows ledger entries with generate_series;
 * 2. starts the production build (no Redis) and logs in through the form;
 * 3. downloads /t/<slug>/runs.csv and /t/<slug>/credits/ledger.csv one after the other, reading
 *    the body as it streams, and samples the server's VmRSS every 50 ms;
 * 4. prints rows, seconds, rows/s, the resident memory before and at its peak; goal: the peak
 *    stays under 200 MB. Exit code 1 when the goal is missed or the benchmark could not run.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import {
  freePorts,
  log,
  machineBusy,
  NODE,
  privateBuild,
  requireFromProject,
  SERVER_FLAGS,
  startChild,
  stopAll,
  waitUntilUp,
} from './support.js'
import { databaseUrl, login, OWNER_EMAIL, prepareWorkspace } from './workspace.js'

const SELF = fileURLToPath(import.meta.url)
const GOAL_MB = 200
const { values: opts } = parseArgs({
  options: {
    'rows': { type: 'string', default: '1000000' },
    'db': { type: 'string', default: 'agora_bench_exports' },
    'no-build': { type: 'boolean', default: false },
    'help': { type: 'boolean', short: 'h', default: false },
  },
})
if (opts.help) {
  console.log(readFileSync(SELF, 'utf8').split('*/')[0])
  process.exit(0)
}
const ROWS = Number(opts.rows)
const DB_NAME = opts.db
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(DB_NAME)) throw new Error('--db must be a plain name')
if (!Number.isInteger(ROWS) || ROWS < 1) throw new Error('--rows must be a positive integer')
if (!process.env.DATABASE_URL) {
  console.error('[bench] DATABASE_URL must point at a PostgreSQL server')
  process.exit(1)
}
const pg = requireFromProject('pg')
const BENCH_URL = databaseUrl(DB_NAME)
const SLUG = 'bench'

async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

async function prepare(appKey) {
  const { tenantId } = await prepareWorkspace({
    database: DB_NAME,
    appKey,
    slug: SLUG,
    reason: 'bench:exports',
  })
  log(`inserting ${ROWS.toLocaleString('en')} runs and as many ledger entries`)
  const started = Date.now()
  await withClient(BENCH_URL, async (c) => {
    const owner = (await c.query('SELECT id FROM users WHERE email = $1', [OWNER_EMAIL])).rows[0].id
    await c.query(
      `INSERT INTO runs (tenant_id, member_id, model, status, input, input_tokens, output_tokens,
                         cost_micros, latency_ms, source, created_at, finished_at)
       SELECT $1, $2, 'simulator/echo', CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'succeeded' END,
              'bench input', 12, 34, 56, 120 + i % 50, 'api',
              now() - i * interval '1 second', now() - i * interval '1 second'
       FROM generate_series(1, $3::int) AS i`,
      [tenantId, owner, ROWS]
    )
    await c.query(
      `INSERT INTO ledger_entries (tenant_id, kind, amount, balance_after, reference, created_at)
       SELECT $1, 'grant', 1000000, i * 1000000::bigint, 'bench grant ' || i,
              now() - ($2::int - i) * interval '1 second'
       FROM generate_series(1, $2::int) AS i`,
      [tenantId, ROWS]
    )
    await c.query('ANALYZE')
  })
  log(`inserted in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

const rssMb = (pid) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match ? Number(match[1]) / 1024 : NaN
}

/** Downloads `url`, counting lines as they arrive, while sampling the server's RSS. */
async function download(url, cookie, pid) {
  const before = rssMb(pid)
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50)
  const started = Date.now()
  let lines = 0
  let bytes = 0
  try {
    const response = await fetch(url, { headers: { cookie } })
    if (response.status !== 200) throw new Error(`${url}: ${response.status}`)
    for await (const chunk of response.body) {
      bytes += chunk.length
      for (const byte of chunk) if (byte === 10) lines++
    }
  } finally {
    clearInterval(sampler)
  }
  peak = Math.max(peak, rssMb(pid))
  return { rows: lines - 1, seconds: (Date.now() - started) / 1000, bytes, before, peak }
}

async function main() {
  const appKey = randomBytes(32).toString('base64url')
  const busy = await machineBusy(2000)
  log(
    `${os.availableParallelism()} cores, machine busy ${(busy * 100).toFixed(0)}%, load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`
  )
  const build = privateBuild('bench-pages', { noBuild: opts['no-build'] })
  await prepare(appKey)
  const [port] = await freePorts(1, 3700, 3799)
  const app = startChild('app', NODE, [...SERVER_FLAGS, 'bin/server.js'], {
    cwd: build,
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'REDIS_URL')),
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      APP_KEY: appKey,
      LOG_LEVEL: 'warn',
      DATABASE_URL: BENCH_URL,
    },
  })
  const base = `http://127.0.0.1:${port}`
  await waitUntilUp(`${base}/health/live`, app, 120_000)
  const cookie = await login(base)
  const results = []
  for (const [name, path] of [
    ['runs.csv', `/t/${SLUG}/runs.csv`],
    ['ledger.csv', `/t/${SLUG}/credits/ledger.csv`],
  ]) {
    const result = { name, ...(await download(`${base}${path}`, cookie, app.pid)) }
    results.push(result)
    log(`${name}: ${result.rows} rows in ${result.seconds.toFixed(1)} s`)
  }
  const ok = results.every((r) => r.rows >= ROWS && r.peak < GOAL_MB)
  console.log(
    [
      '',
      '=========================== exports summary ===========================',
      `${new Date().toISOString()}  ${os.availableParallelism()} cores  load ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
      `machine busy before the run (other processes): ${(busy * 100).toFixed(0)}%`,
      'export        rows       seconds   rows/s    MB sent   RSS before   RSS peak',
      ...results.map(
        (r) =>
          `${r.name.padEnd(12)} ${String(r.rows).padStart(9)} ${r.seconds.toFixed(1).padStart(9)} ` +
          `${Math.round(r.rows / r.seconds)
            .toString()
            .padStart(8)} ${(r.bytes / 1e6).toFixed(0).padStart(9)} ` +
          `${r.before.toFixed(0).padStart(9)} MB ${r.peak.toFixed(0).padStart(7)} MB`
      ),
      `goal: every row exported, resident memory under ${GOAL_MB} MB: ${ok ? 'MET' : 'NOT MET'}`,
      `growth over the idle process during each export: ` +
        results.map((r) => `${r.name} +${(r.peak - r.before).toFixed(0)} MB`).join(', '),
      '=======================================================================',
    ].join('\n')
  )
  await stopAll()
  if (!ok) process.exitCode = 1
}

main().catch(async (error) => {
  console.error(`[bench] failed: ${error.stack || error.message}`)
  await stopAll()
  process.exit(1)
})
