import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { defineConfig, destination, targets } from '@adonisjs/core/logger'

const pretty = app.inDev && process.stdout.isTTY

/**
 * pino JSON logs to stdout; pretty-printed only in development. Every request line has request_id.
 * JSON goes to stdout from the main thread (sonic-boom, asynchronous): a transport would run in a
 * worker thread with its own V8 isolate, ~40 MB of resident memory for copying lines to fd 1.
 */
export default defineConfig({
  default: 'app',
  loggers: {
    app: {
      enabled: true,
      name: 'agora',
      level: env.get('LOG_LEVEL', app.inTest ? 'silent' : 'info'),
      ...(pretty
        ? { transport: { targets: targets().push(targets.pretty()).toArray() } }
        : { destination: destination({ dest: 1, sync: false }) }),
    },
  },
})

declare module '@adonisjs/core/types' {
  export interface LoggersList extends InferLoggers<typeof import('./logger.js').default> {}
}
import type { InferLoggers } from '@adonisjs/core/types'
