import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, disableTenantRls, enableTenantRls } from '#database/rls'

const KINDS = ['grant', 'purchase', 'allowance', 'charge', 'refund', 'adjustment', 'expiry']

/**
 * The credit ledger: one account per tenant (created lazily on first write), an append-only list
 * of money entries and the holds (reservations) that runs place before they spend. Money is
 * integer micro-credits. The constraints carry the invariants so no code path can break them:
 * available (balance − held) never negative, one charge per hold, keys unique per tenant.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`
      CREATE TABLE credit_accounts (
        tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
        balance bigint NOT NULL DEFAULT 0,
        held bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT credit_accounts_held_non_negative CHECK (held >= 0),
        CONSTRAINT credit_accounts_available_non_negative CHECK (balance - held >= 0)
      )`)

    this.schema.raw(`
      CREATE TABLE credit_holds (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        amount bigint NOT NULL,
        charged bigint NULL,
        reference varchar(500) NULL,
        idempotency_key varchar(255) NULL,
        member_id uuid NULL,
        agent_id uuid NULL,
        status varchar(10) NOT NULL DEFAULT 'pending',
        expires_at timestamptz NOT NULL,
        resolved_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT credit_holds_amount_positive CHECK (amount > 0),
        CONSTRAINT credit_holds_status_known CHECK (status IN ('pending', 'settled', 'released', 'expired')),
        CONSTRAINT credit_holds_resolved_once CHECK ((status = 'pending') = (resolved_at IS NULL)),
        CONSTRAINT credit_holds_charge_within_hold CHECK (
          (status = 'settled') = (charged IS NOT NULL) AND (charged IS NULL OR charged BETWEEN 0 AND amount)
        )
      )`)
    // Holds are the hot insert path: every index is paid per hold, so only what queries need.
    // Keys are unique per tenant; rows without a key stay out of that index.
    this.schema.raw(
      `CREATE UNIQUE INDEX credit_holds_idempotency_key ON credit_holds (tenant_id, idempotency_key)
       WHERE idempotency_key IS NOT NULL`
    )
    // The sweeper and `held` checks read only pending holds: a small partial index.
    this.schema.raw(
      `CREATE INDEX credit_holds_pending ON credit_holds (tenant_id, expires_at) WHERE status = 'pending'`
    )

    // `seq` orders a tenant's entries exactly (all writes hold the account row lock), so the
    // balance_after chain can be verified; created_at + id is the public (keyset) order.
    this.schema.raw(`
      CREATE TABLE ledger_entries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq bigint GENERATED ALWAYS AS IDENTITY,
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        kind varchar(16) NOT NULL,
        amount bigint NOT NULL,
        balance_after bigint NOT NULL,
        reference varchar(500) NULL,
        idempotency_key varchar(255) NULL,
        actor_id uuid NULL,
        member_id uuid NULL,
        agent_id uuid NULL,
        hold_id uuid NULL REFERENCES credit_holds (id),
        price jsonb NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT ledger_entries_kind_known CHECK (kind IN (${KINDS.map((k) => `'${k}'`).join(', ')})),
        CONSTRAINT ledger_entries_amount_sign CHECK (
          CASE
            WHEN kind IN ('grant', 'purchase', 'allowance', 'refund') THEN amount > 0
            WHEN kind IN ('charge', 'expiry') THEN amount < 0
            ELSE amount <> 0
          END
        ),
        CONSTRAINT ledger_entries_balance_non_negative CHECK (balance_after >= 0),
        CONSTRAINT ledger_entries_charge_has_hold CHECK (kind <> 'charge' OR hold_id IS NOT NULL)
      )`)
    this.schema.raw(
      `CREATE UNIQUE INDEX ledger_entries_idempotency_key ON ledger_entries (tenant_id, idempotency_key)
       WHERE idempotency_key IS NOT NULL`
    )
    this.schema.raw(
      `CREATE INDEX ledger_entries_tenant_created ON ledger_entries (tenant_id, created_at DESC, id DESC)`
    )
    this.schema.raw(`CREATE INDEX ledger_entries_tenant_seq ON ledger_entries (tenant_id, seq)`)
    this.schema.raw(
      `CREATE INDEX ledger_entries_tenant_member ON ledger_entries (tenant_id, member_id, created_at)
       WHERE member_id IS NOT NULL`
    )
    this.schema.raw(
      `CREATE INDEX ledger_entries_tenant_agent ON ledger_entries (tenant_id, agent_id, created_at)
       WHERE agent_id IS NOT NULL`
    )
    // Each hold is charged at most once.
    this.schema.raw(
      `CREATE UNIQUE INDEX ledger_entries_one_charge_per_hold ON ledger_entries (tenant_id, hold_id)
       WHERE kind = 'charge'`
    )

    // Append-only: corrections are new entries. Only a tenant's own deletion may cascade here.
    this.schema.raw(`
      CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM tenants WHERE id = OLD.tenant_id) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP
          USING ERRCODE = 'integrity_constraint_violation';
      END $$`)
    this.schema.raw(`
      CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
      FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()`)

    for (const table of ['credit_accounts', 'credit_holds', 'ledger_entries']) {
      for (const statement of enableTenantRls(table)) this.schema.raw(statement)
    }
    // The app role may add entries and move holds, never rewrite or remove money.
    this.schema.raw(`REVOKE UPDATE, DELETE ON ledger_entries FROM ${APP_ROLE}`)
    this.schema.raw(`REVOKE DELETE ON credit_accounts, credit_holds FROM ${APP_ROLE}`)
  }

  async down() {
    for (const table of ['ledger_entries', 'credit_holds', 'credit_accounts']) {
      for (const statement of disableTenantRls(table)) this.schema.raw(statement)
      this.schema.raw(`REVOKE ALL ON ${table} FROM ${APP_ROLE}`)
    }
    this.schema.raw('DROP TABLE ledger_entries')
    this.schema.raw('DROP FUNCTION ledger_entries_append_only()')
    this.schema.raw('DROP TABLE credit_holds')
    this.schema.raw('DROP TABLE credit_accounts')
  }
}
