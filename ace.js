/*
 * Ace entry point. AdonisJS 7 needs Node 24; the pinned Node 24 ships in node_modules (the `node`
 * package), so when an older system Node runs this file we re-run it under the pinned one.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  const pinned = fileURLToPath(new URL('./node_modules/node/bin/node', import.meta.url))
  if (!existsSync(pinned)) {
    console.error(
      `Node ${process.versions.node} is too old and the pinned Node 24 is missing: run "npm install" first.`
    )
    process.exit(1)
  }
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => child.kill(signal))
  }
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0)
  })
} else {
  await import('@poppinss/ts-exec')
  await import('./bin/console.js')
}
