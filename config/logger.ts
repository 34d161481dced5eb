import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { defineConfig, targets } from '@adonisjs/core/logger'

/** pino JSON logs to stdout; pretty-printed only in development. Every request line has request_id. */
export default defineConfig({
  default: 'app',
  loggers: {
    app: {
      enabled: true,
      name: 'agora',
      level: env.get('LOG_LEVEL', app.inTest ? 'silent' : 'info'),
      transport: {
        targets: targets()
          .pushIf(app.inDev && process.stdout.isTTY, targets.pretty())
          .pushIf(!app.inDev || !process.stdout.isTTY, targets.file({ destination: 1 }))
          .toArray(),
      },
    },
  },
})

declare module '@adonisjs/core/types' {
  export interface LoggersList extends InferLoggers<typeof import('./logger.js').default> {}
}
import type { InferLoggers } from '@adonisjs/core/types'
