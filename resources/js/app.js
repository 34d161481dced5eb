/*
 * Agora client helpers: plain JS, no build step, loaded (without defer) from <head> so the theme
 * is applied before first paint and Alpine components are registered before Alpine starts.
 * Strict CSP: no eval, no inline handlers; Alpine is the CSP build, so components live here.
 */
;(() => {
  const root = document.documentElement
  root.classList.add('js')

  /* ---------- Theme: data-theme on <html>, remembered in localStorage ---------- */
  const THEME_KEY = 'agora:theme'
  const darkQuery = window.matchMedia('(prefers-color-scheme: dark)')

  function storedTheme() {
    try {
      const value = localStorage.getItem(THEME_KEY)
      return value === 'light' || value === 'dark' ? value : null
    } catch {
      return null
    }
  }

  /** The theme in effect: the pinned one, else the OS preference. */
  function currentTheme() {
    return root.dataset.theme || (darkQuery.matches ? 'dark' : 'light')
  }

  function setTheme(theme) {
    root.dataset.theme = theme
    try {
      localStorage.setItem(THEME_KEY, theme)
    } catch {
      /* private mode: the choice lasts for this page only */
    }
    document.dispatchEvent(new CustomEvent('agora:theme', { detail: { theme } }))
  }

  const initial = storedTheme()
  if (initial) root.dataset.theme = initial

  /* ---------- Alerts ---------- */
  const ICONS = {
    info: 'M2 12a10 10 0 1 0 20 0a10 10 0 1 0-20 0M12 16v-4M12 8h.01',
    success: 'M2 12a10 10 0 1 0 20 0a10 10 0 1 0-20 0M9 12l2 2 4-4',
    warning:
      'M10.29 3.86 1.82 18a2 2 0 0 0 1.71 3h16.94a2 2 0 0 0 1.71-3L13.71 3.86a2 2 0 0 0-3.42 0zM12 9v4M12 17h.01',
    error: 'M2 12a10 10 0 1 0 20 0a10 10 0 1 0-20 0M15 9l-6 6M9 9l6 6',
  }
  const SVG_NS = 'http://www.w3.org/2000/svg'

  function svgIcon(d) {
    const svg = document.createElementNS(SVG_NS, 'svg')
    svg.setAttribute('class', 'icon')
    svg.setAttribute('viewBox', '0 0 24 24')
    svg.setAttribute('fill', 'none')
    svg.setAttribute('stroke', 'currentColor')
    svg.setAttribute('stroke-width', '2')
    svg.setAttribute('stroke-linecap', 'round')
    svg.setAttribute('stroke-linejoin', 'round')
    svg.setAttribute('aria-hidden', 'true')
    const path = document.createElementNS(SVG_NS, 'path')
    path.setAttribute('d', d)
    svg.append(path)
    return svg
  }

  /**
   * Puts a message in the #alerts live region, built like components/alert.edge (text only,
   * never HTML). Replaces what is there so repeated failures do not pile up.
   */
  function showAlert(kind, message) {
    const region = document.getElementById('alerts')
    if (!region) return
    const alert = document.createElement('div')
    alert.className = `alert alert-${kind}`
    alert.setAttribute('x-data', 'dismissible')
    const body = document.createElement('div')
    body.className = 'alert-body'
    const text = document.createElement('p')
    text.textContent = message
    body.append(text)
    const close = document.createElement('button')
    close.type = 'button'
    close.className = 'btn btn-ghost btn-sm btn-icon alert-close'
    close.setAttribute('aria-label', 'Dismiss')
    close.setAttribute('x-on:click', 'dismiss')
    close.append(svgIcon('M18 6 6 18M6 6l12 12'))
    alert.append(svgIcon(ICONS[kind] || ICONS.info), body, close)
    region.replaceChildren(alert)
  }
  window.Agora = { showAlert, setTheme, currentTheme }

  /* ---------- htmx ---------- */
  function csrfToken() {
    return document.querySelector('meta[name="csrf-token"]')?.content || ''
  }

  // The layout declares hx-headers:inherited on <body>; this is the safety net for elements
  // that set their own hx-headers (which replaces, not merges, the inherited value).
  document.addEventListener('htmx:config:request', (event) => {
    const request = event.detail?.ctx?.request
    const token = csrfToken()
    if (!request || !token) return
    request.headers ??= {}
    if (!request.headers['X-CSRF-TOKEN']) request.headers['X-CSRF-TOKEN'] = token
  })

  // htmx:error fires for network failures, timeouts and swap errors; only the first two have
  // no response. HTTP errors arrive as responses (the server sends its own alert fragment).
  document.addEventListener('htmx:error', (event) => {
    const ctx = event.detail?.ctx
    if (!ctx || ctx.response) return
    const error = event.detail.error
    const timedOut = ctx.request?.signal?.reason === 'timeout' || error?.name === 'TimeoutError'
    showAlert(
      'error',
      timedOut
        ? 'The server took too long to answer. Please try again.'
        : navigator.onLine === false
          ? 'You appear to be offline. Check your connection and try again.'
          : 'We could not reach the server. Check your connection and try again.'
    )
  })

  /* ---------- Live panels: [data-live] elements refresh while the tab is visible ---------- */
  // Every LIVE_MS each live element gets `agora:live` (its hx-trigger); the server answers 204
  // while nothing changed. A hidden tab asks nothing, and asks at once when shown again; an
  // element whose form field has the focus waits, so a swap never eats what is being typed.
  const LIVE_MS = 4000
  function refreshLive() {
    if (document.visibilityState !== 'visible' || !window.htmx) return
    for (const element of document.querySelectorAll('[data-live]')) {
      const focused = document.activeElement
      if (focused && element.contains(focused) && focused.matches('input, select, textarea'))
        continue
      window.htmx.trigger(element, 'agora:live')
    }
  }
  setInterval(refreshLive, LIVE_MS)
  document.addEventListener('visibilitychange', refreshLive)

  /** A builder row with no agent chosen and no input typed. */
  function blankRow(row) {
    const select = row.querySelector('select')
    const input = row.querySelector('textarea')
    return !select?.value && !input?.value.trim()
  }

  /** Focus stays on a move button, or goes to its row's agent when the button became disabled. */
  function keepFocus(button, row) {
    if (button.disabled) row.querySelector('select')?.focus()
    else button.focus()
  }

  /* ---------- Alpine components (CSP build: registered here, referenced by name) ---------- */
  document.addEventListener('alpine:init', () => {
    const Alpine = window.Alpine

    /** Light/dark toggle button. */
    Alpine.data('themeToggle', () => ({
      theme: currentTheme(),
      init() {
        this.$el.hidden = false
        document.addEventListener('agora:theme', (event) => (this.theme = event.detail.theme))
        darkQuery.addEventListener('change', () => (this.theme = currentTheme()))
      },
      toggle() {
        setTheme(currentTheme() === 'dark' ? 'light' : 'dark')
      },
      get pressed() {
        return this.theme === 'dark' ? 'true' : 'false'
      },
      get label() {
        return this.theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'
      },
    }))

    /** Narrow-screen navigation menu. */
    Alpine.data('navMenu', () => ({
      open: false,
      toggle() {
        this.open = !this.open
      },
      close() {
        this.open = false
      },
      get expanded() {
        return this.open ? 'true' : 'false'
      },
      get menuClass() {
        return this.open ? 'is-open' : ''
      },
    }))

    /** An alert with a close button. */
    Alpine.data('dismissible', () => ({
      dismiss() {
        const alert = this.$root
        // Keep focus somewhere sensible when the focused close button disappears.
        if (alert.contains(document.activeElement)) document.getElementById('main')?.focus()
        alert.remove()
      },
    }))

    /**
     * Native <dialog> (x-ref="dialog"): showModal() gives focus trapping, Escape, the top layer
     * and focus return to the opener for free. A click on the backdrop closes it.
     */
    Alpine.data('dialog', () => ({
      show(event) {
        // Openers with commandfor/command="show-modal" open natively where supported.
        const opener = event?.currentTarget
        if (opener?.hasAttribute?.('commandfor') && 'commandForElement' in opener) return
        if (!this.$refs.dialog.open) this.$refs.dialog.showModal()
      },
      hide() {
        this.$refs.dialog.close()
      },
      backdrop(event) {
        if (event.target === this.$refs.dialog) this.hide()
      },
    }))

    /** A chat's message list (a scrolling box): opens scrolled to the newest message. */
    Alpine.data('chatLog', () => ({
      init() {
        this.$el.scrollTop = this.$el.scrollHeight
      },
    }))

    /**
     * The workflow builder's step rows (agents::components/workflow_form). The server renders
     * every row with indexed names plus a blank spare row, which is all a plain form needs; this
     * adds, moves and removes rows and renumbers names, ids and labels so the submitted
     * steps[N] follow the order on screen.
     */
    Alpine.data('workflowBuilder', () => ({
      init() {
        for (const el of this.$root.querySelectorAll('[data-js-only]')) el.hidden = false
        const rows = this.rows()
        const spare = rows.at(-1)
        // With an "Add step" button, a blank spare row is clutter.
        if (rows.length > 1 && spare?.hasAttribute('data-spare') && blankRow(spare)) spare.remove()
        this.renumber()
      },
      rows() {
        return [...this.$refs.list.children]
      },
      add() {
        const row = this.$refs.blank.content.firstElementChild.cloneNode(true)
        for (const el of row.querySelectorAll('[data-js-only]')) el.hidden = false
        this.$refs.list.append(row)
        this.renumber()
        row.querySelector('select')?.focus()
      },
      moveUp(event) {
        const button = event.currentTarget
        const row = button.closest('[data-step]')
        if (row.previousElementSibling) row.previousElementSibling.before(row)
        this.renumber()
        keepFocus(button, row)
      },
      moveDown(event) {
        const button = event.currentTarget
        const row = button.closest('[data-step]')
        if (row.nextElementSibling) row.nextElementSibling.after(row)
        this.renumber()
        keepFocus(button, row)
      },
      remove(event) {
        const row = event.currentTarget.closest('[data-step]')
        if (this.rows().length < 2) return
        const next = row.previousElementSibling || row.nextElementSibling
        row.remove()
        this.renumber()
        next?.querySelector('select')?.focus()
      },
      renumber() {
        const rows = this.rows()
        rows.forEach((row, index) => {
          for (const el of row.querySelectorAll('[name], [id], [for], [aria-describedby]')) {
            for (const attr of ['name', 'id', 'for', 'aria-describedby']) {
              const value = el.getAttribute(attr)
              if (value)
                el.setAttribute(
                  attr,
                  value
                    .replace(/steps\[\d+\]/g, `steps[${index}]`)
                    .replace(/steps-\d+-/g, `steps-${index}-`)
                )
            }
          }
          row.querySelector('[data-step-title]').textContent = `Step ${index + 1}`
          row.querySelector('[data-spare-note]')?.remove()
          const input = row.querySelector('textarea')
          if (input) input.placeholder = index === 0 ? '{{input}}' : `{{steps.${index}.output}}`
          const buttons = {
            '[data-step-up]': [index === 0, `Move step ${index + 1} up`],
            '[data-step-down]': [index === rows.length - 1, `Move step ${index + 1} down`],
            '[data-step-remove]': [rows.length < 2, `Remove step ${index + 1}`],
          }
          for (const [selector, [disabled, label]] of Object.entries(buttons)) {
            const button = row.querySelector(selector)
            if (!button) continue
            button.disabled = disabled
            button.setAttribute('aria-label', label)
          }
        })
      },
    }))
  })
})()
