import env from '#start/env'

/** REDIS_URL parsed once; `null` means "no Redis: use in-process stores". */
export const redisUrl = (() => {
  const raw = env.get('REDIS_URL')
  if (!raw) return null
  const url = new URL(raw)
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must start with redis:// or rediss://, got "${url.protocol}"`)
  }
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  }
})()
