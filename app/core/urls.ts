import router from '@adonisjs/core/services/router'
import type { RoutesList } from '@adonisjs/core/types/http'

/**
 * A route's name. Checked against `.adonisjs/server/routes.d.ts` when it has been generated (any
 * boot outside production writes it); any string on a fresh checkout, where Adonis's own typed
 * `urlFor` accepts nothing, so `npm run typecheck` passes before the first boot too.
 */
export type RouteName = RoutesList extends { ALL: infer All } ? keyof All & string : string

type ParamValue = string | number | bigint | boolean

/** Edge's `urlFor` options: `qs` is serialised with the app's qs; `prefixUrl` makes it absolute. */
export type UrlOptions = { qs?: Record<string, unknown>; prefixUrl?: string }

type LooseUrlFor = (
  name: string,
  params?: Record<string, ParamValue> | ParamValue[],
  options?: UrlOptions
) => string

/**
 * The URL of a named route, the same call as Edge's `urlFor` global: URLs come from route names,
 * never hand-built, and a module links to another's page by its route name alone.
 */
export function urlFor(
  name: RouteName,
  params?: Record<string, ParamValue> | ParamValue[],
  options?: UrlOptions
): string {
  return (router.urlBuilder.urlFor as unknown as LooseUrlFor)(name, params, options)
}
