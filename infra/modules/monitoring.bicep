// Log Analytics workspace and a workspace-based Application Insights component.
// Local (instrumentation-key) ingestion is disabled: the Function App sends telemetry with its managed
// identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD + Monitoring Metrics Publisher).

@description('Azure region.')
param location string

@description('Log Analytics workspace name.')
param workspaceName string

@description('Application Insights component name.')
param appInsightsName string

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param retentionInDays int

@description('Tags applied to every resource.')
param tags resourceTags

import { resourceTags } from '../types.bicep'

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
    IngestionMode: 'LogAnalytics'
  }
}

output workspaceId string = workspace.id
output appInsightsName string = appInsights.name
output appInsightsConnectionString string = appInsights.properties.ConnectionString
