import { createHash } from 'node:crypto'
import { test } from '@japa/runner'
import { Secret, TOTP } from 'otpauth'
import encryption from '@adonisjs/core/services/encryption'
import {
  cspSafeSvg,
  decryptTotpSecret,
  encryptTotpSecret,
  formatSecretForDisplay,
  matchTotpStep,
  newRecoveryCodes,
  newTotpSecret,
  otpauthUri,
  parseSecondFactor,
  qrCodeSvg,
  totpStep,
  userHasTwoFactor,
} from '#auth/services/totp'
import { DateTime } from 'luxon'

// A fixed instant in the middle of a 30 s step: 2026-01-01T00:00:15Z.
const T = Date.UTC(2026, 0, 1, 0, 0, 15)
const codeAt = (secret: string, timestamp: number) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp })

test.group('auth / totp service: codes and steps', () => {
  test('a code is matched to its own step, one step either side, and nothing further', ({
    assert,
  }) => {
    const secret = newTotpSecret()
    const step = totpStep(T)
    assert.equal(matchTotpStep(secret, codeAt(secret, T), T), step)
    assert.equal(matchTotpStep(secret, codeAt(secret, T - 30_000), T), step - 1)
    assert.equal(matchTotpStep(secret, codeAt(secret, T + 30_000), T), step + 1)
    assert.isNull(matchTotpStep(secret, codeAt(secret, T - 60_000), T))
    assert.isNull(matchTotpStep(secret, codeAt(secret, T + 60_000), T))
  })

  test('RFC 6238 test vector (SHA-1, 59 s) gives the 6-digit code authenticator apps show', ({
    assert,
  }) => {
    const rfcSecret = Secret.fromLatin1('12345678901234567890').base32
    assert.equal(matchTotpStep(rfcSecret, '287082', 59_000), 1)
  })

  test('anything but six digits never matches', ({ assert }) => {
    const secret = newTotpSecret()
    const code = codeAt(secret, T)
    for (const bad of ['', code.slice(1), `${code}0`, ` ${code}`, 'abcdef', '１２３４５６']) {
      assert.isNull(matchTotpStep(secret, bad, T), bad)
    }
  })

  test('secrets are 160-bit base32 and differ every time', ({ assert }) => {
    const a = newTotpSecret()
    assert.match(a, /^[A-Z2-7]{32}$/)
    assert.notEqual(a, newTotpSecret())
    assert.equal(formatSecretForDisplay('ABCDEFGHIJ'), 'ABCD EFGH IJ')
  })

  test('the otpauth URI names the issuer and the account', ({ assert }) => {
    const uri = otpauthUri('JBSWY3DPEHPK3PXP', 'ada@example.test')
    assert.match(uri, /^otpauth:\/\/totp\/Agora:ada%40example\.test\?/)
    assert.include(uri, 'secret=JBSWY3DPEHPK3PXP')
    assert.include(uri, 'issuer=Agora')
    assert.include(uri, 'period=30')
    assert.include(uri, 'digits=6')
  })
})

test.group('auth / totp service: input parsing', () => {
  test('six digits (spaces allowed) are a TOTP code', ({ assert }) => {
    assert.deepEqual(parseSecondFactor(' 123 456 '), { kind: 'totp', code: '123456' })
    assert.deepEqual(parseSecondFactor('123-456'), { kind: 'totp', code: '123456' })
  })

  test('recovery codes are read in any case, with or without the dash', ({ assert }) => {
    const expected = { kind: 'recovery', code: 'abcde23456' }
    assert.deepEqual(parseSecondFactor('abcde-23456'), expected)
    assert.deepEqual(parseSecondFactor(' ABCDE 23456 '), expected)
    assert.deepEqual(parseSecondFactor('abcde23456'), expected)
  })

  test('empty, huge, wrongly typed and malformed input is no code at all', ({ assert }) => {
    for (const bad of [
      undefined,
      null,
      123456,
      {},
      [],
      '',
      '   ',
      '12345',
      '1234567',
      'abcdef',
      'abcde-2345',
      'abcde-2345o',
      'x'.repeat(10_000),
      '１２３４５６',
    ]) {
      assert.isNull(parseSecondFactor(bad), JSON.stringify(bad)?.slice(0, 20))
    }
  })
})

test.group('auth / totp service: recovery codes', () => {
  test('ten distinct codes, easy to read, stored as the sha256 of their normalised form', ({
    assert,
  }) => {
    const codes = newRecoveryCodes()
    assert.lengthOf(codes, 10)
    assert.lengthOf(new Set(codes.map((code) => code.display)), 10)
    for (const { display, hash } of codes) {
      assert.match(display, /^[a-hj-km-np-z2-9]{5}-[a-hj-km-np-z2-9]{5}$/)
      const parsed = parseSecondFactor(display.toUpperCase())
      assert.equal(parsed?.kind, 'recovery')
      assert.equal(hash, createHash('sha256').update(parsed!.code).digest('hex'))
    }
  })
})

test.group('auth / totp service: secret at rest', () => {
  test('the secret is encrypted with APP_KEY and decrypts back', ({ assert }) => {
    const secret = newTotpSecret()
    const stored = encryptTotpSecret(secret)
    assert.notInclude(stored, secret)
    assert.equal(decryptTotpSecret(stored), secret)
  })

  test('tampered, foreign or missing ciphertext decrypts to null', ({ assert }) => {
    const stored = encryptTotpSecret(newTotpSecret())
    assert.isNull(decryptTotpSecret(`${stored.slice(0, -4)}AAAA`))
    assert.isNull(decryptTotpSecret(encryption.encrypt('JBSWY3DPEHPK3PXP')))
    assert.isNull(decryptTotpSecret(null))
    assert.isNull(decryptTotpSecret(''))
  })
})

test.group('auth / totp service: QR code', () => {
  test('the QR code is inline SVG with no inline style (the CSP forbids it)', async ({
    assert,
  }) => {
    const svg = await qrCodeSvg(otpauthUri(newTotpSecret(), 'ada@example.test'))
    assert.match(svg, /^<svg class="qr-code" /)
    assert.include(svg, 'role="img"')
    assert.notMatch(svg, /style/i)
    assert.match(svg, /<\/svg>$/)
  })

  test('style attributes and elements are stripped from any SVG', ({ assert }) => {
    const dirty = `<?xml version="1.0"?><svg style="color:red"><style>path{fill:red}</style><path style='x' d="M0 0"/><rect style=x width="1"/></svg>`
    const clean = cspSafeSvg(dirty)
    assert.notMatch(clean, /style/i)
    assert.include(clean, '<path d="M0 0"/>')
    assert.include(clean, 'width="1"')
  })
})

test.group('auth / userHasTwoFactor', () => {
  test('true only once an authenticator is confirmed', ({ assert }) => {
    assert.isFalse(userHasTwoFactor({ totpEnabledAt: null }))
    assert.isTrue(userHasTwoFactor({ totpEnabledAt: DateTime.now() }))
  })
})
