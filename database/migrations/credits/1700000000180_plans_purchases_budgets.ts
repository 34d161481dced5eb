import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, disableTenantRls, enableTenantRls } from '#database/rls'

const TENANT_TABLES = [
  'plan_changes',
  'credit_purchases',
  'credit_budgets',
  'credit_settings',
  'budget_alerts',
]

/**
 * Credits II: plan prices and the pro plan; a pending plan change per tenant (plans change from
 * the next period); purchases (manual invoices and Stripe Checkout) with the Stripe events seen;
 * monthly budgets per member and per agent, the low-balance threshold, and the alerts already
 * sent (one row per budget, period and threshold, so each alert goes out once).
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`ALTER TABLE plans ADD COLUMN price_cents integer NOT NULL DEFAULT 0`)
    this.schema.raw(
      `ALTER TABLE plans ADD CONSTRAINT plans_price_non_negative CHECK (price_cents >= 0)`
    )
    this.defer(async (db) => {
      await db.rawQuery(`
        INSERT INTO plans (id, name, monthly_allowance_micros, max_members, sort_order) VALUES
          ('pro', 'Pro', 25000000, 10, 2)
        ON CONFLICT (id) DO NOTHING`)
      await db.rawQuery(`
        UPDATE plans SET price_cents = p.price, sort_order = p.sort
          FROM (VALUES ('free', 0, 1), ('pro', 1900, 2), ('team', 4900, 3), ('business', 19900, 4))
            AS p(id, price, sort)
         WHERE plans.id = p.id`)
    })

    this.schema.raw(`
      CREATE TABLE plan_changes (
        tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
        plan_id varchar(40) NOT NULL REFERENCES plans (id),
        effective_from date NOT NULL,
        requested_by uuid NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`)

    this.schema.raw(`
      CREATE TABLE credit_purchases (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        pack varchar(40) NULL,
        plan_id varchar(40) NULL REFERENCES plans (id),
        credits bigint NOT NULL DEFAULT 0,
        price_cents integer NOT NULL,
        currency varchar(3) NOT NULL DEFAULT 'usd',
        provider varchar(10) NOT NULL,
        status varchar(10) NOT NULL DEFAULT 'pending',
        checkout_session_id varchar(255) NULL,
        checkout_url text NULL,
        ledger_entry_id uuid NULL,
        requested_by uuid NULL,
        resolved_by uuid NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz NULL,
        CONSTRAINT credit_purchases_provider_known CHECK (provider IN ('manual', 'stripe')),
        CONSTRAINT credit_purchases_status_known CHECK (status IN ('pending', 'paid', 'failed')),
        CONSTRAINT credit_purchases_resolved_once CHECK ((status = 'pending') = (resolved_at IS NULL)),
        CONSTRAINT credit_purchases_pack_or_plan CHECK ((pack IS NULL) <> (plan_id IS NULL)),
        CONSTRAINT credit_purchases_credits_non_negative CHECK (credits >= 0)
      )`)
    this.schema.raw(
      `CREATE UNIQUE INDEX credit_purchases_session ON credit_purchases (checkout_session_id)
       WHERE checkout_session_id IS NOT NULL`
    )
    this.schema.raw(
      `CREATE INDEX credit_purchases_tenant_created ON credit_purchases (tenant_id, created_at DESC)`
    )
    this.schema.raw(
      `CREATE INDEX credit_purchases_pending ON credit_purchases (created_at) WHERE status = 'pending'`
    )

    // Stripe events already handled: a redelivered event id changes nothing.
    this.schema.raw(`
      CREATE TABLE stripe_events (
        id varchar(255) PRIMARY KEY,
        type varchar(100) NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`)

    this.schema.raw(`
      CREATE TABLE credit_budgets (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        scope varchar(10) NOT NULL,
        subject_id uuid NOT NULL,
        limit_micros bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, scope, subject_id),
        CONSTRAINT credit_budgets_scope_known CHECK (scope IN ('member', 'agent')),
        CONSTRAINT credit_budgets_limit_positive CHECK (limit_micros > 0)
      )`)

    this.schema.raw(`
      CREATE TABLE credit_settings (
        tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
        low_balance_micros bigint NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT credit_settings_low_balance_positive CHECK (low_balance_micros > 0)
      )`)

    // subject: 'member:<id>', 'agent:<id>' or 'low_balance'; period: the month's first local day.
    this.schema.raw(`
      CREATE TABLE budget_alerts (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        subject varchar(60) NOT NULL,
        period date NOT NULL,
        threshold smallint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, subject, period, threshold)
      )`)

    for (const table of TENANT_TABLES) {
      for (const statement of enableTenantRls(table)) this.schema.raw(statement)
    }
    // Plans are reference data every tenant-bound read may see (the plans page, allowances).
    this.schema.raw(`ALTER TABLE plans ENABLE ROW LEVEL SECURITY`)
    this.schema.raw(`CREATE POLICY plans_reference ON plans FOR SELECT TO ${APP_ROLE} USING (true)`)
    this.schema.raw(`GRANT SELECT ON plans TO ${APP_ROLE}`)
  }

  async down() {
    this.schema.raw(`REVOKE SELECT ON plans FROM ${APP_ROLE}`)
    this.schema.raw(`DROP POLICY IF EXISTS plans_reference ON plans`)
    this.schema.raw(`ALTER TABLE plans DISABLE ROW LEVEL SECURITY`)
    for (const table of TENANT_TABLES) {
      for (const statement of disableTenantRls(table)) this.schema.raw(statement)
      this.schema.raw(`REVOKE ALL ON ${table} FROM ${APP_ROLE}`)
    }
    for (const table of [...TENANT_TABLES].reverse()) this.schema.raw(`DROP TABLE ${table}`)
    this.schema.raw('DROP TABLE stripe_events')
    this.schema.raw(`DELETE FROM plans WHERE id = 'pro'`)
    this.schema.raw('ALTER TABLE plans DROP COLUMN price_cents')
  }
}
