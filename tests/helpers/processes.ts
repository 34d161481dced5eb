import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import app from '@adonisjs/core/services/app'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function freePort() {
  return new Promise<number>((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
    probe.on('error', reject)
  })
}

export type AgoraProcess = {
  child: ChildProcess
  pid: number
  url: string
  output: () => string
  /** Sends a signal and waits for the exit (SIGKILL after `timeoutMs`). */
  stop: (
    signal?: NodeJS.Signals,
    timeoutMs?: number
  ) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * Another Agora process from the sources (ts-exec, as ace runs them) against the tests'
 * database: `server` (bin/server.ts, HTTP on a free port) or `worker` (`node ace queue:work`).
 * `env` overrides the tests' environment (a key set to undefined is removed). Only for a real
 * PostgreSQL: an in-memory PGlite cannot be opened by a second process.
 */
export async function startAgora(
  kind: 'server' | 'worker',
  env: Record<string, string | undefined> = {},
  bootTimeoutMs = 30_000
): Promise<AgoraProcess> {
  const port = await freePort()
  const merged: Record<string, string> = {}
  for (const [key, value] of Object.entries({
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    NODE_ENV: 'development',
    ...env,
  })) {
    if (value !== undefined) merged[key] = value
  }
  const args =
    kind === 'server' ? ['--import=@poppinss/ts-exec', 'bin/server.ts'] : ['ace.js', 'queue:work']
  const child = spawn(process.execPath, args, {
    cwd: fileURLToPath(app.appRoot),
    env: merged,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const url = `http://127.0.0.1:${port}`
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }))

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 40_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const result = await exited
    clearTimeout(timer)
    return result
  }

  const deadline = Date.now() + bootTimeoutMs
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the ${kind} process exited with ${child.exitCode}:\n${output}`)
    const ready =
      kind === 'server'
        ? (await fetch(`${url}/health/live`).catch(() => null))?.ok
        : output.includes('working the runs queue')
    if (ready) break
    if (Date.now() > deadline) {
      await stop('SIGKILL')
      throw new Error(`the ${kind} process did not start in time:\n${output}`)
    }
    await sleep(100)
  }
  return { child, pid: child.pid!, url, output: () => output, stop }
}

/**
 * Runs an Agora entry point (`server`: bin/server.ts; `ace`: ace.js with `args`) to its exit with
 * the tests' environment plus `env` (a key set to undefined is removed); one that is still running
 * after `timeoutMs` is killed and reported with code null.
 */
export async function runAgoraToExit(
  kind: 'server' | 'ace',
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 20_000
) {
  const merged: Record<string, string> = {}
  for (const [key, value] of Object.entries({ ...process.env, ...env })) {
    if (value !== undefined) merged[key] = value
  }
  const child = spawn(
    process.execPath,
    kind === 'server'
      ? ['--import=@poppinss/ts-exec', 'bin/server.ts', ...args]
      : ['ace.js', ...args],
    { cwd: fileURLToPath(app.appRoot), env: merged, stdio: ['ignore', 'pipe', 'pipe'] }
  )
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk) => (stdout += chunk))
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, timeoutMs)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(timer)
  return { code: timedOut ? null : code, stdout, stderr }
}
