/**
 * Workflow step inputs are templates: `{{input}}` is the workflow's input, `{{steps.N.output}}`
 * the output of step N (from 1). Whitespace inside the braces is allowed; anything else in
 * double braces is left as written.
 */
const PLACEHOLDER = /\{\{\s*(input|steps\.(\d+)\.output)\s*\}\}/g

export function renderTemplate(template: string, input: string, outputs: string[]) {
  return template.replace(PLACEHOLDER, (_, name: string, step?: string) =>
    name === 'input' ? input : (outputs[Number(step) - 1] ?? '')
  )
}

/**
 * Why step `index` (from 0) may not use this template, or null: it may use {{input}} and the
 * outputs of earlier steps only.
 */
export function templateError(template: string, index: number) {
  const later = [...template.matchAll(PLACEHOLDER)]
    .filter((m) => m[2])
    .map((m) => Number(m[2]))
    .find((n) => n < 1 || n > index)
  if (later === undefined) return null
  return index === 0
    ? `Step 1 can use {{input}}, not step ${later}.`
    : `Step ${index + 1} can use {{input}} and the outputs of steps 1 to ${index}, not step ${later}.`
}
