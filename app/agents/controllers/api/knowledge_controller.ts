import type { HttpContext } from '@adonisjs/core/http'
import { keysetPage, NotFoundException, pageParams, readUpload } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import KnowledgeDocument from '#agents/models/knowledge_document'
import { knowledgeSearchValidator, textDocumentValidator } from '#agents/validators/knowledge'
import { addDocument, deleteDocument, reindexDocument } from '#agents/actions/manage_documents'
import { MAX_DOCUMENT_BYTES } from '#agents/knowledge/extract'
import { searchKnowledge } from '#agents/actions/search_knowledge'
import { findDocument } from '#agents/services/lookup'
import { serializeDocument } from '#agents/dtos/knowledge'

/** /api/v1/knowledge: documents (multipart `file` or JSON `{name, text}`) and search. */
export default class KnowledgeController {
  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const query = KnowledgeDocument.listed(tenant.id)
    const page = await keysetPage<KnowledgeDocument>(query, 'knowledge_documents', pageParams(ctx))
    return { data: page.rows.map(serializeDocument), next_cursor: page.next_cursor }
  }

  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'knowledge.write')
    assertWritable(ctx)
    let source: { name: string; bytes: Uint8Array; declaredType: string | null; field: string }
    if (ctx.request.is(['multipart/form-data'])) {
      const upload = await readUpload(ctx, 'file', MAX_DOCUMENT_BYTES)
      const name = ctx.request.input('name')
      source = {
        name: (typeof name === 'string' && name.trim()) || upload.name || 'document',
        bytes: upload.bytes,
        declaredType: upload.type,
        field: 'file',
      }
    } else {
      const input = await ctx.request.validateUsing(textDocumentValidator)
      source = {
        name: input.name,
        bytes: Buffer.from(input.text),
        declaredType: null,
        field: 'text',
      }
    }
    const document = await addDocument({
      tenantId: tenant.id,
      actorId: membership.userId,
      ...source,
      name: source.name.slice(0, 255),
    })
    ctx.response.header('Location', `/api/v1/knowledge/documents/${document.id}`)
    return ctx.response.created(serializeDocument(document))
  }

  async show(ctx: HttpContext) {
    return serializeDocument(await this.#find(ctx, 'agents.read'))
  }

  async destroy(ctx: HttpContext) {
    const { membership } = currentTenant(ctx)
    const document = await this.#find(ctx, 'knowledge.write')
    assertWritable(ctx)
    await deleteDocument(document, membership.userId)
    return ctx.response.noContent()
  }

  async reindex(ctx: HttpContext) {
    const { membership } = currentTenant(ctx)
    const document = await this.#find(ctx, 'knowledge.write')
    assertWritable(ctx)
    await reindexDocument(document, membership.userId)
    return ctx.response.status(202).json(serializeDocument(document))
  }

  async search(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const { q, limit } = await knowledgeSearchValidator.validate(ctx.request.qs())
    const found = await searchKnowledge(tenant.id, q, limit ?? 5)
    return { data: found.data, mode: found.mode }
  }

  async #find(ctx: HttpContext, permission: 'agents.read' | 'knowledge.write') {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, permission)
    const document = await findDocument(tenant.id, ctx.params.id)
    if (!document) throw new NotFoundException()
    return document
  }
}
