import { spawn } from 'node:child_process'
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

/**
 * Another Agora HTTP server in its own process (`bin/server.ts` through ts-exec, as ace runs it),
 * with the tests' environment: the same database and Redis. Only for a real PostgreSQL: an
 * in-memory PGlite cannot be opened by a second process.
 */
export async function startAppProcess(options: { bootTimeoutMs?: number } = {}) {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import=@poppinss/ts-exec', 'bin/server.ts'], {
    cwd: fileURLToPath(app.appRoot),
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const url = `http://127.0.0.1:${port}`

  async function stop() {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }

  const deadline = Date.now() + (options.bootTimeoutMs ?? 30_000)
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the second app process exited with ${child.exitCode}:\n${output}`)
    const live = await fetch(`${url}/health/live`).catch(() => null)
    if (live?.ok) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`the second app process did not answer on ${url} in time:\n${output}`)
    }
    await sleep(100)
  }
  return { url, stop, output: () => output }
}
