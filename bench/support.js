/*
 * Shared plumbing for "ratio in one run" benchmarks: child servers and their cleanup, core
 * pinning, free ports, per-process CPU from /proc, and one autocannon round in its own process
 * (optionally with request headers, e.g. a session cookie).
 *
 *   node bench/support.js --worker <url> <connections> <seconds> [headers-json]
 *
 * runs one round and prints one JSON line (autocannon's result + the worker's CPU share).
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const SELF = fileURLToPath(import.meta.url)
export const requireFromProject = createRequire(join(ROOT, 'package.json'))

// The project pins Node (the `node` dependency); every child runs on that binary when present.
const PINNED_NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node')
export const NODE = existsSync(PINNED_NODE) ? PINNED_NODE : process.execPath

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
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
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

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    log(`${signal}: stopping servers`)
    await stopAll()
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
  for (let port = from; port <= to && ports.length < count; port++) if (port !== 3333 && (await portFree(port))) ports.push(port)
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
  throw new Error(`${url} did not answer within ${timeoutMs / 1000}s${child ? `:\n  ${child.tail.join('\n  ')}` : ''}`)
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
  return new Promise((resolve, reject) => {
    const [cmd, args] = onCore(1)(NODE, [SELF, '--worker', target.url, String(connections), String(seconds), JSON.stringify(target.headers ?? {})])
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => (err += chunk))
    child.once('error', reject)
    child.once('exit', (code) => {
      children.delete(child)
      if (code !== 0) return reject(new Error(`load worker exited ${code}: ${err}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()))
      } catch {
        reject(new Error(`load worker printed no result: ${out}${err}`))
      }
    })
  })
}

/**
 * One round of load on `target` ({name, url, pid?, headers?}) from a worker on core 1, with the
 * server's CPU time per request (a figure that does not depend on the load generator).
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
    usPerReq: ticks !== null && result.requests.total ? (ticks / CLK_TCK / result.requests.total) * 1e6 : null,
    loadCpu: result.loadCpu,
    bad: result.errors + result.timeouts + result.non2xx,
  }
}

/** Busy share of the whole machine over `ms` (other processes' noise shows here). */
export async function machineBusy(ms = 1000) {
  const sample = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
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

if (process.argv[2] === '--worker') {
  const [url, connections, seconds, headers] = process.argv.slice(3)
  const autocannon = requireFromProject('autocannon')
  const cpuBefore = process.cpuUsage()
  const wallBefore = process.hrtime.bigint()
  const result = await autocannon({ url, connections: Number(connections), duration: Number(seconds), headers: JSON.parse(headers || '{}') })
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
