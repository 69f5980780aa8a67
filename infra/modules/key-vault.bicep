// Key Vault for the app's secrets (admin key, per-source and per-channel inbound secrets, HMAC keys,
// FHIR client credentials). RBAC authorization only; soft delete always; purge protection where asked
// (production: once on, it cannot be turned off).

@description('Azure region.')
param location string

@description('Key Vault name (3-24 letters, digits and dashes).')
@minLength(3)
@maxLength(24)
param name string

@description('Days a deleted vault or secret can be recovered.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int

@description('Turn on purge protection (irreversible).')
param enablePurgeProtection bool

@description('When true, only private endpoints and the listed operator IP ranges reach the vault.')
param privateOnly bool

@description('Public IPv4 ranges (CIDR) of operators allowed to set secrets when privateOnly is true.')
param operatorIpRanges string[]

@description('Log Analytics workspace that receives diagnostics.')
param workspaceId string

@description('Tags applied to every resource.')
param tags resourceTags

import { resourceTags } from '../types.bicep'

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // The service rejects false; leaving it unset is how purge protection stays off.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: privateOnly ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
      ipRules: [for range in operatorIpRanges: { value: range }]
    }
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
