import env from '#start/env'
import { defineConfig, drivers } from '@adonisjs/core/encryption'

/**
 * APP_KEY encrypts cookies and secrets at rest (provider API keys and headers, TOTP secrets,
 * webhook secrets). Rotation: the new key in APP_KEY, the old one(s) in APP_KEY_PREVIOUS
 * (comma-separated), which still decrypt; `node ace secrets:rewrap` re-seals everything under
 * the new key, then APP_KEY_PREVIOUS can go.
 */
const previous = (env.get('APP_KEY_PREVIOUS') ?? '')
  .split(',')
  .map((key) => key.trim())
  .filter(Boolean)

export default defineConfig({
  default: 'gcm',
  list: {
    gcm: drivers.aes256gcm({ id: 'gcm', keys: [env.get('APP_KEY').release(), ...previous] }),
  },
})
