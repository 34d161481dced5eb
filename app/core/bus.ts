import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import app from '@adonisjs/core/services/app'
import logger from '@adonisjs/core/services/logger'
import { inBackground } from '#core/background'

/** This process, as named in bus messages, run ownership and logs. */
export const PROCESS_ID = `${hostname().slice(0, 40)}:${process.pid}:${randomBytes(3).toString('hex')}`

const CHANNEL = 'agora_bus'
const local = new EventEmitter()
local.setMaxListeners(0)

type Transport = { publish(payload: string): Promise<unknown>; close(): Promise<void> }
let transport: Promise<Transport | null> | null = null

/**
 * A small message bus between the processes of one deployment: Redis pub/sub with REDIS_URL,
 * PostgreSQL LISTEN/NOTIFY on a real server without it, nothing on embedded PGlite (one
 * process). Messages are hints ("run X has new events", "cancel run Y"): receivers re-read the
 * truth from the database, so a message lost while a connection reconnects delays, never loses.
 * A process does not receive its own messages (it already acted on them locally). Topic
 * `bus:reconnected` fires locally after the listener (Redis or PostgreSQL) reconnected.
 */
export const bus = {
  /** Sends `message` on `topic` to every other process; never throws. */
  async publish(topic: string, message: string) {
    try {
      const t = await connect()
      await t?.publish(JSON.stringify({ f: PROCESS_ID, t: topic, m: message }))
    } catch (error) {
      logger.warn({ err: error, topic }, 'bus publish failed')
    }
  },

  /** Calls `handler` for every message on `topic` from other processes; returns the unsubscribe. */
  subscribe(topic: string, handler: (message: string) => void) {
    inBackground(connect(), 'connecting the bus')
    local.on(topic, handler)
    return () => void local.off(topic, handler)
  },
}

function deliver(payload: string) {
  try {
    const { f, t, m } = JSON.parse(payload)
    if (f !== PROCESS_ID && typeof t === 'string') local.emit(t, m)
  } catch {
    // Not ours: ignore.
  }
}

function connect() {
  transport ??= open().catch((error) => {
    logger.warn({ err: error }, 'bus unavailable; messages stay in this process')
    transport = null
    return null
  })
  return transport
}

async function open(): Promise<Transport | null> {
  if (process.env.REDIS_URL) {
    const { default: redis } = await import('@adonisjs/redis/services/main')
    const connection = redis.connection('main')
    await connection.subscribe(CHANNEL, deliver)
    // ioredis re-subscribes after Redis comes back; messages meanwhile are lost. Only after a
    // loss: a cache cleared at start would open connections nothing closes at shutdown.
    let lost = false
    connection.on('subscriber:reconnecting', () => {
      lost = true
    })
    connection.on('subscriber:ready', () => {
      if (lost) local.emit('bus:reconnected', '')
      lost = false
    })
    app.terminating(async () => {
      await connection.unsubscribe(CHANNEL)
    })
    return { publish: (payload) => connection.publish(CHANNEL, payload), close: async () => {} }
  }
  if (!process.env.DATABASE_URL) return null
  return listenPostgres(process.env.DATABASE_URL)
}

/** A dedicated LISTEN connection that reconnects; NOTIFY goes through a small pool of its own. */
async function listenPostgres(url: string): Promise<Transport> {
  const { default: pg } = await import('pg')
  const pool = new pg.Pool({ connectionString: url, max: 2, allowExitOnIdle: true })
  pool.on('error', () => {})
  let client: InstanceType<typeof pg.Client> | null = null
  let closed = false
  const listen = async (delayMs = 0): Promise<void> => {
    if (closed) return
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs).unref())
    const next = new pg.Client({ connectionString: url })
    next.on('notification', (n) => n.payload && deliver(n.payload))
    next.on('error', (error) => {
      logger.warn({ err: error }, 'bus LISTEN connection lost; reconnecting')
      void next.end().catch(() => {})
      if (client === next) inBackground(listen(1000), 'reconnecting the bus')
    })
    try {
      await next.connect()
      // A listener never keeps a process alive (a command ends when its work does).
      ;(next as unknown as { connection: { stream: { unref(): void } } }).connection.stream.unref()
      await next.query(`LISTEN ${CHANNEL}`)
      // After a gap, receivers re-read what they cache (messages meanwhile are lost).
      if (client) local.emit('bus:reconnected', '')
      client = next
    } catch (error) {
      logger.warn({ err: error }, 'bus LISTEN failed; retrying')
      void next.end().catch(() => {})
      return listen(Math.min(5000, delayMs * 2 || 500))
    }
  }
  await listen()
  const close = async () => {
    closed = true
    await client?.end().catch(() => {})
    await pool.end().catch(() => {})
  }
  app.terminating(close)
  return { publish: (payload) => pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]), close }
}
