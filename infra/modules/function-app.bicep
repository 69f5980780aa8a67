// The Engagement Functions app on the Flex Consumption plan (FC1, Linux), with a system-assigned
// managed identity. The package is deployed to a blob container the app reads with that identity.

@description('Azure region.')
param location string

@description('Flex Consumption plan name.')
param planName string

@description('Function App name (also its default host name).')
param name string

@description('Storage account holding the deployment container.')
param storageAccountName string

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('.NET isolated worker version.')
param runtimeVersion string

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Upper bound on scale-out.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Application settings (name/value pairs).')
param appSettings appSetting[]

@description('Subnet for outbound VNet integration, or empty for none.')
param virtualNetworkSubnetId string

@description('Log Analytics workspace that receives diagnostics.')
param workspaceId string

@description('Tags applied to every resource.')
param tags resourceTags

import { appSetting, resourceTags } from '../types.bicep'

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'dotnet-isolated'
        version: runtimeVersion
      }
    }
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: app
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
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

output id string = app.id
output name string = app.name
output principalId string = app.identity.principalId
output defaultHostName string = app.properties.defaultHostName
