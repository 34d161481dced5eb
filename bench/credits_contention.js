/*
 * Credit holds under contention, measured on real PostgreSQL: Agora's hold() (per-tenant group
 * commit) beside the naive baseline (one guarded UPDATE + INSERT transaction per hold), in the
 * same run, as interleaved rounds (naive, batched, naive, batched…) so machine noise hits both.
 *
 *   DATABASE_URL=postgres://… npm run bench:credits [-- --rounds 3 --seconds 10 --concurrency 64 --tenants 4]
 *
 * 1. migrates the database (`node ace migration:run --force --no-schema-generate`);
 * 2. creates scratch tenants with plenty of credits (plain SQL, ledger-consistent);
 * 3. per round runs `node ace bench:holds` in a fresh process: naive, then batched, one hot tenant
 *    at --concurrency callers; then once the general path alone (every batch in an RLS-bound
 *    transaction, as when the fast path refuses), and once naive vs batched across --tenants
 *    tenants (scaling);
 * 4. prints holds/s and latency per round and the medians, the goal (≥ 2,500 holds/s with
 *    p99 ≤ 25 ms for one tenant at 64 callers), runs credits:verify on the bench tenants and
 *    deletes them. Exit code 1 only when the benchmark could not run (not when the goal is missed).
 *
 * Flags: --rounds N (3), --seconds S (10), --warmup S (2), --concurrency N (64), --tenants N (4),
 * --no-migrate, --no-scaling.
 */
import { spawnSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import pg from 'pg'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const GOAL = { rate: 2500, p99: 25 }

const { values: opts } = parseArgs({
  options: {
    'rounds': { type: 'string', default: '3' },
    'seconds': { type: 'string', default: '10' },
    'warmup': { type: 'string', default: '2' },
    'concurrency': { type: 'string', default: '64' },
    'tenants': { type: 'string', default: '4' },
    'no-migrate': { type: 'boolean', default: false },
    'no-scaling': { type: 'boolean', default: false },
    'help': { type: 'boolean', short: 'h', default: false },
  },
})
if (opts.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0])
  process.exit(0)
}
if (!process.env.DATABASE_URL) {
  console.error(
    '[bench] DATABASE_URL must point at a PostgreSQL database ' +
      '(PGlite serialises every query: no contention to measure).'
  )
  process.exit(1)
}

// The project pins Node (the `node` dependency); use that binary for the children when present.
const PINNED_NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node')
const NODE = existsSync(PINNED_NODE) ? PINNED_NODE : process.execPath
const ENV = { ...process.env, LOG_LEVEL: 'error' }

const log = (...args) => console.error('[bench]', ...args)

function ace(args) {
  const run = spawnSync(NODE, ['ace', ...args], { cwd: ROOT, env: ENV, encoding: 'utf8' })
  if (run.status !== 0 && !args[0].startsWith('credits:verify'))
    throw new Error(`node ace ${args.join(' ')} failed:\n${run.stderr || run.stdout}`)
  return run
}

/** One measured run in its own process; resolves with the JSON line it prints. */
function benchHolds(tenantIds, mode, extra = []) {
  const args = [
    'ace',
    'bench:holds',
    `--tenant=${tenantIds.join(',')}`,
    `--mode=${mode}`,
    `--concurrency=${opts.concurrency}`,
    `--seconds=${opts.seconds}`,
    `--warmup=${opts.warmup}`,
    ...extra,
  ]
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, args, { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] })
    let [stdout, stderr] = ['', '']
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').at(-1)
      if (code !== 0 || !line?.startsWith('{'))
        return reject(new Error(`bench:holds ${mode} failed (exit ${code}):\n${stderr}${stdout}`))
      if (stderr.trim()) log(stderr.trim())
      resolve(JSON.parse(line))
    })
  })
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
/** The machine is shared: the 1-minute load average beside each row tells how noisy it was. */
const loadAverage = () =>
  existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').split(' ')[0] : '?'
const row = (label, r) =>
  `${label.padEnd(34)} ${String(r.rate).padStart(8)} holds/s   p50 ${r.p50.toFixed(2).padStart(8)} ms   ` +
  `p99 ${r.p99.toFixed(2).padStart(8)} ms   max ${r.max.toFixed(1).padStart(8)} ms   ` +
  `402s ${r.rejected}   errors ${r.errors}   load ${loadAverage()}`

async function main() {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
  await client.connect()
  const version = (await client.query('SHOW server_version')).rows[0].server_version
  if (!opts['no-migrate']) {
    log('migrating…')
    ace(['migration:run', '--force', '--no-schema-generate'])
  }

  const count = Math.max(1, Number(opts.tenants))
  const tenants = []
  for (let i = 0; i < Math.max(1, count); i++) {
    const slug = `bench-credits-${randomUUID().slice(0, 8)}`
    const funds = 10n ** 17n // 100 billion credits: never the limit
    await client.query('BEGIN')
    const { rows } = await client.query(
      `INSERT INTO tenants (slug, name) VALUES ($1, 'credits bench') RETURNING id`,
      [slug]
    )
    await client.query('INSERT INTO credit_accounts (tenant_id, balance) VALUES ($1, $2)', [
      rows[0].id,
      funds.toString(),
    ])
    await client.query(
      `INSERT INTO ledger_entries (tenant_id, kind, amount, balance_after, reference)
       VALUES ($1, 'grant', $2, $2, 'bench funds')`,
      [rows[0].id, funds.toString()]
    )
    await client.query('COMMIT')
    tenants.push({ id: rows[0].id, slug })
  }
  // The naive baseline wants one connection per caller; leave room for everyone else's.
  const free = (
    await client.query(
      `SELECT setting::int - (SELECT count(*) FROM pg_stat_activity)::int AS free
       FROM pg_settings WHERE name = 'max_connections'`
    )
  ).rows[0].free
  const naivePool = Math.max(8, Math.min(Number(opts.concurrency), 64, free - 20))
  const runNaive = (ids) => benchHolds(ids, 'naive', [`--pool=${naivePool}`])
  const hot = [tenants[0].id]
  const results = { naive: [], batched: [] }
  try {
    log(
      `PostgreSQL ${version}; ${opts.rounds} rounds × ${opts.seconds} s per mode, ` +
        `${opts.concurrency} callers, one hot tenant; naive pool ${naivePool}`
    )
    for (let round = 1; round <= Number(opts.rounds); round++) {
      for (const mode of ['naive', 'batched']) {
        const result = mode === 'naive' ? await runNaive(hot) : await benchHolds(hot, mode)
        results[mode].push(result)
        console.log(row(`round ${round} ${mode}`, result))
      }
    }
    const general = await benchHolds(hot, 'batched', ['--fast-path=off'])
    console.log(row('general path only (RLS-bound)', general))
    let scaling = null
    if (!opts['no-scaling'] && tenants.length > 1) {
      const ids = tenants.map((t) => t.id)
      scaling = { naive: await runNaive(ids), batched: await benchHolds(ids, 'batched') }
      console.log(row(`${ids.length} tenants naive (pool ${naivePool})`, scaling.naive))
      console.log(row(`${ids.length} tenants batched`, scaling.batched))
    }

    const summary = (mode) => ({
      rate: median(results[mode].map((r) => r.rate)),
      p50: median(results[mode].map((r) => r.p50)),
      p99: median(results[mode].map((r) => r.p99)),
    })
    const [naive, batched] = [summary('naive'), summary('batched')]
    console.log('')
    console.log(`median naive    ${naive.rate} holds/s, p50 ${naive.p50} ms, p99 ${naive.p99} ms`)
    console.log(
      `median batched  ${batched.rate} holds/s, p50 ${batched.p50} ms, p99 ${batched.p99} ms  ` +
        `(${(batched.rate / Math.max(1, naive.rate)).toFixed(1)}× naive)`
    )
    const met = batched.rate >= GOAL.rate && batched.p99 <= GOAL.p99
    console.log(
      `goal (≥ ${GOAL.rate} holds/s with p99 ≤ ${GOAL.p99} ms, one tenant, ${opts.concurrency} callers): ` +
        (met ? 'MET' : 'MISSED')
    )
    if (scaling)
      console.log(
        `scaling: ${tenants.length} tenants batched ${scaling.batched.rate} holds/s ` +
          `(${(scaling.batched.rate / Math.max(1, batched.rate)).toFixed(2)}× one tenant), ` +
          `p99 ${scaling.batched.p99} ms`
      )

    for (const tenant of tenants) {
      const verify = ace(['credits:verify', tenant.slug])
      const lines = verify.stdout.trim() ? verify.stdout.trim().split('\n') : []
      const verdict =
        verify.status === 0
          ? 'clean'
          : lines.length
            ? `${lines.length} violation(s)\n${lines.join('\n')}`
            : `could not run (exit ${verify.status}): ${verify.stderr.trim().split('\n').slice(-3).join(' | ')}`
      console.log(`credits:verify ${tenant.slug}: ${verdict}`)
    }
  } finally {
    await client.query('DELETE FROM tenants WHERE id = ANY($1::uuid[])', [tenants.map((t) => t.id)])
    await client.end()
  }
}

main().catch((error) => {
  console.error('[bench] could not run:', error.message)
  process.exit(1)
})
