import { BaseSchema } from '@adonisjs/lucid/schema'
import encryption from '@adonisjs/core/services/encryption'

/*
 * Written out rather than imported from app code, so this migration keeps meaning what it meant
 * when the app changes; it must equal the purpose in app/agents/providers/registry.ts.
 */
const HEADER_PURPOSE = 'provider-header'

type Settings = Record<string, unknown> & {
  headers?: Record<string, string>
  sealed_headers?: Record<string, string>
}

/**
 * Provider header values (`settings.headers`, often credentials: org ids, gateway tokens) are
 * encrypted at rest like API keys: each value moves, sealed with the app key, to
 * `settings.sealed_headers`; the names stay readable. Down puts them back in clear; a value
 * that no longer decrypts (another APP_KEY) stays sealed rather than being lost.
 */
export default class extends BaseSchema {
  async up() {
    this.defer(async (db) => {
      const rows = await db.rawQuery(
        `SELECT id, settings FROM providers WHERE settings -> 'headers' IS NOT NULL FOR UPDATE`
      )
      for (const row of rows.rows as { id: string; settings: Settings }[]) {
        const { headers, ...settings } = row.settings
        const sealed = { ...settings.sealed_headers }
        for (const [name, value] of Object.entries(headers ?? {}))
          sealed[name] = encryption.encrypt(String(value), { purpose: HEADER_PURPOSE })
        if (Object.keys(sealed).length) settings.sealed_headers = sealed
        await db
          .from('providers')
          .where('id', row.id)
          .update({ settings: JSON.stringify(settings) })
      }
    })
  }

  async down() {
    this.defer(async (db) => {
      const rows = await db.rawQuery(
        `SELECT id, settings FROM providers WHERE settings -> 'sealed_headers' IS NOT NULL FOR UPDATE`
      )
      for (const row of rows.rows as { id: string; settings: Settings }[]) {
        const { sealed_headers: sealed, ...settings } = row.settings
        const headers = { ...settings.headers }
        const undecryptable: Record<string, string> = {}
        for (const [name, value] of Object.entries(sealed ?? {})) {
          const clear = encryption.decrypt<string>(value, HEADER_PURPOSE)
          if (typeof clear === 'string') headers[name] = clear
          else undecryptable[name] = value
        }
        if (Object.keys(headers).length) settings.headers = headers
        if (Object.keys(undecryptable).length) settings.sealed_headers = undecryptable
        await db
          .from('providers')
          .where('id', row.id)
          .update({ settings: JSON.stringify(settings) })
      }
    })
  }
}
