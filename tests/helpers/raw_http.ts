import http from 'node:http'
import { baseUrl } from '#tests/helpers/browser'

/** A raw request (no client-side decompression): status, headers and the bytes as sent. */
export function rawRequest(path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
    (resolve, reject) => {
      const request = http.request(`${baseUrl()}${path}`, { method, headers }, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk) => chunks.push(chunk))
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            headers: response.headers,
            body: Buffer.concat(chunks),
          })
        )
      })
      request.on('error', reject)
      request.end()
    }
  )
}
