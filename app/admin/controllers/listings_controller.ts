import type { HttpContext } from '@adonisjs/core/http'
import { Exception } from '@adonisjs/core/exceptions'
import { urlFor } from '#core'
import { allListings, moderateListing } from '#agents'

/** /admin/marketplace: every listing, hidden or featured by a platform admin. */
export default class ListingsController {
  async index({ view, auth }: HttpContext) {
    const listings = await allListings()
    return view.render('admin::pages/listings', {
      user: auth.user,
      listings: listings.map((listing) => ({
        ...listing,
        update: urlFor('admin.listings.update', { id: listing.id }, { qs: { _method: 'PUT' } }),
      })),
    })
  }

  async update({ params, request, response, session, auth }: HttpContext) {
    const changes: { hidden?: boolean; featured?: boolean } = {}
    for (const key of ['hidden', 'featured'] as const) {
      const value = request.input(key)
      if (value === 'true' || value === 'false') changes[key] = value === 'true'
    }
    const listing = Object.keys(changes).length
      ? await moderateListing(String(params.id), changes, auth.user!.id)
      : null
    if (!listing)
      throw new Exception('Nothing exists at this address.', { status: 404, code: 'E_NOT_FOUND' })
    session.flash(
      'success',
      `"${listing.title}" is ${listing.hidden ? 'hidden' : 'visible'}${listing.featured ? ' and featured' : ''}.`
    )
    return response.redirect(urlFor('admin.listings.index'))
  }
}
