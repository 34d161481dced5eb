import { startAgora } from '#tests/helpers/processes'

/**
 * Another Agora HTTP server in its own process with the tests' environment: the same database
 * and Redis. Only for a real PostgreSQL: an in-memory PGlite cannot be opened by a second process.
 */
export async function startAppProcess(options: { bootTimeoutMs?: number } = {}) {
  const server = await startAgora(
    'server',
    { LOG_LEVEL: 'error', NODE_ENV: process.env.NODE_ENV },
    options.bootTimeoutMs
  )
  return {
    url: server.url,
    stop: async () => void (await server.stop('SIGTERM', 10_000)),
    output: server.output,
  }
}
