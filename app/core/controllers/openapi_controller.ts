import type { HttpContext } from '@adonisjs/core/http'
import { openApiDocument } from '#core/openapi'

/** Serves the OpenAPI document (no auth). */
export default class OpenApiController {
  show({ response }: HttpContext) {
    return response.json(openApiDocument())
  }
}
