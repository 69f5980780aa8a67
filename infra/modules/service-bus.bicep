// Service Bus for outreach: the outbox publishes each message once, with a deterministic MessageId
// (duplicate detection drops a re-send from a retried activity) and SessionId = patient (a session
// keeps one patient's messages in order for the channel gateway).
// Local (SAS) auth is disabled: the app sends with its managed identity.

@description('Azure region.')
param location string

@description('Service Bus namespace name.')
param name string

@description('Standard, or Premium (required for private endpoints).')
@allowed([
  'Standard'
  'Premium'
])
param sku string

@description('Queue the outbox sends outreach messages to.')
param outreachQueueName string

@description('How long Service Bus remembers a MessageId to drop duplicates (ISO 8601 duration).')
param duplicateDetectionWindow string

@description('Log Analytics workspace that receives diagnostics.')
param workspaceId string

@description('When true, the namespace takes no traffic from public networks (private endpoints only).')
param privateOnly bool

@description('Tags applied to every resource.')
param tags resourceTags

import { resourceTags } from '../types.bicep'

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
    tier: sku
    capacity: sku == 'Premium' ? 1 : null
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: privateOnly ? 'Disabled' : 'Enabled'
  }
}

resource outreach 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: outreachQueueName
  properties: {
    requiresSession: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    deadLetteringOnMessageExpiration: true
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
    defaultMessageTimeToLive: 'P14D'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: namespace
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
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

output id string = namespace.id
output name string = namespace.name
output outreachQueueName string = outreach.name

@description('Host name of the namespace, e.g. sb-x.servicebus.windows.net (identity-based connections).')
output fullyQualifiedNamespace string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
