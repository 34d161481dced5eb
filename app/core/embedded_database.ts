import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'

/**
 * The zero-setup database: PGlite (PostgreSQL in WASM) behind its socket server, so the app talks
 * to it with the ordinary `pg` driver and the same SQL as production. One process owns the data
 * folder; it advertises its port in a lock file so `node ace …` joins it instead of opening a
 * second copy.
 */
export type EmbeddedDatabase = { host: string; port: number; stop(): Promise<void> }

type LockFile = { pid: number; port: number }

function portAnswers(port: number) {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.setTimeout(500)
    const done = (answer: boolean) => {
      socket.destroy()
      resolve(answer)
    }
    socket.once('connect', () => done(true))
    socket.once('timeout', () => done(false))
    socket.once('error', () => done(false))
  })
}

function processAlive(pid: number) {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Joins the running embedded server if there is one, else starts one (`dataDir` or memory). */
export async function startEmbeddedDatabase(options: {
  dataDir: string | null
  lockPath: string | null
}): Promise<EmbeddedDatabase> {
  if (options.lockPath) {
    const lock = await readFile(options.lockPath, 'utf8')
      .then((text) => JSON.parse(text) as LockFile)
      .catch(() => null)
    if (
      lock &&
      lock.pid !== process.pid &&
      processAlive(lock.pid) &&
      (await portAnswers(lock.port))
    ) {
      return { host: '127.0.0.1', port: lock.port, stop: async () => {} }
    }
  }

  const [{ PGlite }, { PGLiteSocketServer }, { vector }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
    import('@electric-sql/pglite-pgvector'),
  ])
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true })
  // pgvector ships with the embedded database, so knowledge search is hybrid out of the box.
  const db = await PGlite.create(options.dataDir ?? 'memory://', { extensions: { vector } })
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 })
  await server.start()
  const port = Number(server.getServerConn().split(':').pop())
  if (options.lockPath) {
    await writeFile(options.lockPath, JSON.stringify({ pid: process.pid, port } satisfies LockFile))
  }

  return {
    host: '127.0.0.1',
    port,
    async stop() {
      await server.stop()
      await db.close()
      if (options.lockPath) await rm(options.lockPath, { force: true })
    },
  }
}
