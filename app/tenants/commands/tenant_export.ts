import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/** Joins the export's small chunks (one per row) into writes of about 64 KiB. */
async function* batched(chunks: AsyncIterable<string>, size = 64 * 1024) {
  let pending = ''
  for await (const chunk of chunks) {
    pending += chunk
    if (pending.length >= size) {
      yield pending
      pending = ''
    }
  }
  if (pending) yield pending
}

/**
 * tenant:export <slug> [--out=<file>] → the workspace's whole data (every module's rows, no
 * secrets) as one JSON document on stdout, or in the file (created 0600, in place only once
 * complete). A complete export marks the workspace exported: deleting it is refused until then.
 */
export default class TenantExport extends OperatorCommand {
  static commandName = 'tenant:export'
  static description = "Write a workspace's whole data as one JSON document (no secrets)"
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Workspace slug' })
  declare slug: string

  @flags.string({ description: 'Write the document to this file instead of stdout' })
  declare out?: string

  async run() {
    const { default: Tenant } = await import('#tenants/models/tenant')
    const { exportChunks, markExported } = await import('#tenants/services/export')
    const { recordAudit } = await import('#platform')
    const tenant = await Tenant.findBy('slug', this.slug.trim().toLowerCase())
    if (!tenant) return this.fail(`no workspace with slug "${this.slug}"`)
    await recordAudit({
      action: 'tenants.tenant.exported',
      actorLabel: 'cli',
      tenantId: tenant.id,
      subjectType: 'tenant',
      subjectId: tenant.id,
    })
    const chunks = batched(exportChunks(tenant))
    if (this.out) {
      // A half-written file must never pass for an export.
      const partial = `${this.out}.partial`
      try {
        await pipeline(Readable.from(chunks), createWriteStream(partial, { mode: 0o600 }))
        await rename(partial, this.out)
      } catch (error) {
        await rm(partial, { force: true })
        throw error
      }
      this.notice(`${tenant.slug}: exported to ${this.out}`)
    } else {
      for await (const chunk of chunks) {
        if (!process.stdout.write(chunk)) await once(process.stdout, 'drain')
      }
    }
    await markExported(tenant.id)
  }
}
