import type { CatalogModel } from '#agents/services/catalog'
import { SimulatorProvider } from '#agents/providers/simulator'
import { ProviderError, type ProviderAdapter } from '#agents/providers/types'

const simulator = new SimulatorProvider()

/** The adapter for a catalog model's provider kind (real providers arrive with Agents II). */
export function providerFor(model: CatalogModel): ProviderAdapter {
  if (model.providerKind === 'simulator') return simulator
  return {
    // eslint-disable-next-line require-yield
    async *stream() {
      throw new ProviderError(`Provider kind "${model.providerKind}" is not available yet.`, 501, false)
    },
  }
}
