/*
 * The app's operator commands, one list for ace (commands live in their modules' folders).
 */
import { ListLoader } from '@adonisjs/core/ace'
import UserCreate from '#auth/commands/user_create'
import AuditVerify from '#platform/commands/audit_verify'
import AgentRun from '#agents/commands/agent_run'
import AgentEval from '#agents/commands/agent_eval'
import QueueWork from '#agents/commands/queue_work'
import {
  ProviderCreate,
  ProviderModel,
  ModelPrice,
  ProviderTest,
} from '#agents/commands/provider_commands'
import TenantCreate from '#tenants/commands/tenant_create'
import TenantList from '#tenants/commands/tenant_list'
import TenantSuspend from '#tenants/commands/tenant_suspend'
import TenantPurge from '#tenants/commands/tenant_purge'
import TenantExport from '#tenants/commands/tenant_export'
import TenantVerifyDomain from '#tenants/commands/tenant_verify_domain'
import TokenCreate from '#tenants/commands/token_create'
import CreditsGrant from '#credits/commands/credits_grant'
import CreditsAdjust from '#credits/commands/credits_adjust'
import CreditsBalance from '#credits/commands/credits_balance'
import CreditsVerify from '#credits/commands/credits_verify'
import CreditsSweep from '#credits/commands/credits_sweep'
import BenchHolds from '#credits/commands/bench_holds'
import { CreditsAllowance, PlanSet } from '#credits/commands/plan_commands'
import AnalyticsRebuild from '#analytics/commands/analytics_rebuild'
import BenchSeed from '#analytics/commands/bench_seed'
import BenchWorkspaces from '#admin/commands/bench_workspaces'
import FlagSet from '#admin/commands/flag_set'
import SecretsRewrap from '#admin/commands/secrets_rewrap'
import Migrate from '#admin/commands/migrate'

const loader = new ListLoader([
  UserCreate,
  SecretsRewrap,
  Migrate,
  CreditsAllowance,
  PlanSet,
  AuditVerify,
  AgentRun,
  AgentEval,
  QueueWork,
  TenantCreate,
  TenantList,
  TenantSuspend,
  TenantPurge,
  TenantExport,
  TenantVerifyDomain,
  TokenCreate,
  CreditsGrant,
  CreditsAdjust,
  CreditsBalance,
  CreditsVerify,
  CreditsSweep,
  BenchHolds,
  AnalyticsRebuild,
  BenchSeed,
  BenchWorkspaces,
  FlagSet,
  ProviderCreate,
  ProviderModel,
  ModelPrice,
  ProviderTest,
])

export const getMetaData = () => loader.getMetaData()
export const getCommand = (metaData: Parameters<typeof loader.getCommand>[0]) =>
  loader.getCommand(metaData)
