import type { HttpContext } from '@adonisjs/core/http'
import {
  formatCredits,
  isHtmx,
  keysetPage,
  NotFoundException,
  onRefusal,
  pageParams,
  readUpload,
  urlFor,
} from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import KnowledgeDocument from '#agents/models/knowledge_document'
import { addDocument, deleteDocument, reindexDocument } from '#agents/actions/manage_documents'
import { MAX_DOCUMENT_BYTES } from '#agents/knowledge/extract'
import { searchKnowledge } from '#agents/actions/search_knowledge'
import { findDocument } from '#agents/services/lookup'
import { vectorSearchAvailable } from '#agents/knowledge/embeddings'
import { knowledgeSettingsJson, saveKnowledgeSettings } from '#agents/actions/knowledge_settings'
import {
  blankKnowledgeForm,
  documentRowProps,
  knowledgeFieldErrors,
  pastedDocumentValidator,
  uploadFormProps,
  type KnowledgeFormState,
} from '#agents/controllers/web/knowledge_form'
import { can, flashFormState, pageUrl } from '#agents/controllers/web/helpers'

const FLASH_KEY = 'knowledgeForm'
const MAX_QUERY = 1000
const HITS = 10

function text(value: unknown) {
  return typeof value === 'string' ? value : ''
}

/**
 * /t/:tenant/knowledge — the workspace's documents for knowledge search: upload (a file, or
 * pasted text), live indexing progress (rows poll themselves while processing), re-index,
 * delete, and a search box to try what agents would find. Members read; writers change.
 */
export default class KnowledgeController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'agents.read')
    const flashed = ctx.session.flashMessages.get(FLASH_KEY) as KnowledgeFormState | undefined
    return ctx.view.render('agents::pages/knowledge', await this.#pageProps(ctx, flashed))
  }

  /** One document's row (what a processing row polls); the page, at that row, without htmx. */
  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    const document = await this.#find(ctx, 'agents.read')
    if (!isHtmx(ctx))
      return ctx.response.redirect(
        `${urlFor('agents.web.knowledge.index', { tenant: tenant.slug })}#document-${document.id}`
      )
    return ctx.view.render(
      'agents::components/knowledge_document_row',
      documentRowProps(ctx, document)
    )
  }

  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'knowledge.write')
    assertWritable(ctx)
    const state = blankKnowledgeForm()
    onRefusal(ctx, {
      render: (refusal) => this.#refused(ctx, { ...state, errors: knowledgeFieldErrors(refusal) }),
    })
    let source: { name: string; bytes: Uint8Array; declaredType: string | null; field: string }
    if (ctx.request.is(['multipart/form-data'])) {
      const upload = await readUpload(ctx, 'file', MAX_DOCUMENT_BYTES)
      source = {
        name: upload.name.trim() || 'document',
        bytes: upload.bytes,
        declaredType: upload.type,
        field: 'file',
      }
    } else {
      state.values = {
        name: text(ctx.request.input('name')),
        text: text(ctx.request.input('text')),
      }
      const input = await pastedDocumentValidator.validate(state.values)
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
    const message = `"${document.name}" was added: it is being indexed.`
    if (isHtmx(ctx)) {
      // The forms come back empty; the new row goes on top of the list, the message to #alerts.
      return ctx.view.render('agents::components/knowledge_upload_form', {
        ...uploadFormProps(ctx, blankKnowledgeForm()),
        added: { row: documentRowProps(ctx, document), message },
      })
    }
    ctx.session.flash('success', message)
    return ctx.response.redirect(urlFor('agents.web.knowledge.index', { tenant: tenant.slug }))
  }

  async destroy(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    const document = await this.#find(ctx, 'knowledge.write')
    assertWritable(ctx)
    await deleteDocument(document, membership.userId)
    ctx.session.flash('success', `"${document.name}" was deleted with its passages.`)
    return ctx.response.redirect(urlFor('agents.web.knowledge.index', { tenant: tenant.slug }))
  }

  /** Re-indexes a document: htmx gets its row back (processing, so it polls); others the page. */
  async reindex(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    const document = await this.#find(ctx, 'knowledge.write')
    assertWritable(ctx)
    await reindexDocument(document, membership.userId)
    if (isHtmx(ctx))
      return ctx.view.render(
        'agents::components/knowledge_document_row',
        documentRowProps(ctx, document)
      )
    ctx.session.flash('success', `"${document.name}" is being indexed again.`)
    return ctx.response.redirect(urlFor('agents.web.knowledge.index', { tenant: tenant.slug }))
  }

  /** Chooses the embedding model (owners and admins); "" means full-text search only. */
  async settings(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'tenant.update')
    assertWritable(ctx)
    const raw = text(ctx.request.input('embedding_model')).trim()
    onRefusal(ctx, {
      render: async ({ fieldErrors }) =>
        ctx.view.render('agents::pages/knowledge', {
          ...(await this.#pageProps(ctx, undefined)),
          settingsErrors: fieldErrors,
        }),
    })
    const saved = await saveKnowledgeSettings({
      tenantId: tenant.id,
      actorId: membership.userId,
      embeddingModel: raw || null,
    })
    const model = saved.embedding_model ?? 'none (full-text search only)'
    const queued = saved.reindexing === 1 ? '1 document is' : `${saved.reindexing} documents are`
    ctx.session.flash(
      'success',
      `Embedding model: ${model}.` +
        (saved.reindexing
          ? ` ${queued} being re-embedded; they stay searchable by their words meanwhile.`
          : '')
    )
    return ctx.response.redirect(
      `${urlFor('agents.web.knowledge.index', { tenant: tenant.slug })}#knowledge-embeddings`
    )
  }

  /**
   * A refused upload: htmx gets the forms alone with the messages (422, swapped in place); a
   * browser without JavaScript goes back to the page with them flashed, or gets the page again
   * (422) when the pasted text is too large for the session cookie.
   */
  async #refused(ctx: HttpContext, state: KnowledgeFormState) {
    const { tenant } = currentTenant(ctx)
    if (isHtmx(ctx))
      return ctx.view.render(
        'agents::components/knowledge_upload_form',
        uploadFormProps(ctx, state)
      )
    if (flashFormState(ctx, FLASH_KEY, state))
      return ctx.response.redirect(urlFor('agents.web.knowledge.index', { tenant: tenant.slug }))
    return ctx.view.render('agents::pages/knowledge', await this.#pageProps(ctx, state))
  }

  async #pageProps(ctx: HttpContext, state: KnowledgeFormState | undefined) {
    const { tenant } = currentTenant(ctx)
    const query = KnowledgeDocument.listed(tenant.id)
    const params = pageParams(ctx, { forgiving: true })
    const page = await keysetPage<KnowledgeDocument>(query, 'knowledge_documents', params)
    return {
      rows: page.rows.map((document) => documentRowProps(ctx, document)),
      nextUrl: page.next_cursor ? pageUrl(ctx, page.next_cursor) : null,
      firstUrl: params.cursor ? pageUrl(ctx, null) : null,
      canWrite: can(ctx, 'knowledge.write'),
      form: uploadFormProps(ctx, state ?? blankKnowledgeForm()),
      search: await this.#search(ctx),
      settings: await this.#settings(tenant.id),
      settingsErrors: {} as Record<string, string[]>,
      canManage: can(ctx, 'tenant.update'),
    }
  }

  /** The embeddings card: the model in use and the choices (with their prices). */
  async #settings(tenantId: string) {
    const settings = await knowledgeSettingsJson(tenantId)
    return {
      ...settings,
      options: [
        { value: '', label: 'Off: full-text search only' },
        ...settings.embedding_models.map((model) => ({
          value: model.name,
          label:
            model.input_price_micros === '0'
              ? `${model.name} (free)`
              : `${model.name} (${formatCredits(model.input_price_micros)} credits per 1M tokens)`,
        })),
      ],
    }
  }

  /** The search box's query (`?q=`) and its hits; an over-long query is marked, not searched. */
  async #search(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    const q = text(ctx.request.qs().q).trim()
    const vectors = await vectorSearchAvailable()
    const base = { q, vectors, hits: null, mode: null, errors: {} as Record<string, string[]> }
    if (!q) return base
    if (q.length > MAX_QUERY)
      return { ...base, errors: { q: [`Searches are limited to ${MAX_QUERY} characters.`] } }
    const found = await searchKnowledge(tenant.id, q, HITS)
    return {
      ...base,
      mode: found.mode,
      hits: found.data.map((hit) => ({ ...hit, score: hit.score.toFixed(4) })),
    }
  }

  async #find(ctx: HttpContext, permission: 'agents.read' | 'knowledge.write') {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, permission)
    const document = await findDocument(tenant.id, ctx.params.id)
    if (!document) throw new NotFoundException()
    return document
  }
}
