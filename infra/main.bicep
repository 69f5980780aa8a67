// Engagement Functions on Azure: one resource group holding the Function App (Flex Consumption),
// its storage (identity-based, no shared keys), Service Bus for outreach, Key Vault for secrets,
// Application Insights on Log Analytics, and optionally a virtual network with private endpoints.
//
//   az deployment group create -g <group> -f infra/main.bicep -p infra/env/dev.bicepparam
//
// The Function App's settings are exactly the configuration keys of the product contract
// (shared/CONTRACT.md) plus a few platform settings; tests/Engagement.Infra.Tests checks that.
// See infra/README.md for the parameters and the deployment steps.

metadata description = 'Engagement Functions: Function App (Flex Consumption) with storage, Service Bus, Key Vault and monitoring.'

import { ehrSource, resourceTags, smartIssuer } from 'types.bicep'

@description('Environment name: part of every resource name, and the tag "environment".')
@allowed([
  'dev'
  'test'
  'prod'
])
param environmentName string

@description('Short workload name used in resource names (lowercase letters and digits).')
@minLength(2)
@maxLength(8)
param workloadName string = 'engage'

@description('Azure region for every resource. Must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Base URL of the engagement links sent to patients (Engagement__PublicBaseUrl), e.g. https://engage.example.org. Empty: the Function App\'s default host name.')
param publicBaseUrl string = ''

@description('Protocol clock: seconds in a protocol day (Engagement__SecondsPerDay). 86400 in production.')
@minValue(1)
param secondsPerDay int = 86400

@description('EHRs that send notifications (one Engagement__Sources__{name}__* group each). Secrets are Key Vault references.')
param sources ehrSource[] = []

@description('Channel gateways (sms, email, push...) that post to /api/inbound/{name}; each gets Engagement__Channels__{name}__InboundSecret from Key Vault.')
param channels string[] = []

@description('Accepted SMART authorization servers for /api/fhir (Engagement__Smart__Issuers__{n}__Issuer / __Audience).')
param smartIssuers smartIssuer[] = []

@description('.NET isolated worker version of the Flex Consumption runtime.')
param functionsRuntimeVersion string = '10.0'

@description('Memory per Function App instance (MB).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound on Function App scale-out (Flex Consumption allows 1 to 1000).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('How long Service Bus drops a repeated MessageId on the outreach queue (ISO 8601 duration).')
param duplicateDetectionWindow string = 'P1D'

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Days a deleted Key Vault or secret can be recovered.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 90

@description('Key Vault purge protection (irreversible once on). On in production.')
param keyVaultPurgeProtection bool = false

@description('VNet integration for the Function App and private endpoints for storage (blob, queue, table), Service Bus and Key Vault; public network access to them is closed. Service Bus private endpoints need the Premium tier, so this also switches Service Bus to Premium.')
param enablePrivateNetworking bool = false

@description('With private networking: public IPv4 ranges (CIDR) of operators who may still reach Key Vault to set secrets.')
param keyVaultOperatorIpRanges string[] = []

@description('With private networking: address space of the virtual network.')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('With private networking: subnet for the Function App VNet integration.')
param appSubnetPrefix string = '10.40.0.0/24'

@description('With private networking: subnet for private endpoints.')
param privateEndpointSubnetPrefix string = '10.40.1.0/24'

@description('Tags applied to every resource (environment is added).')
param tags resourceTags = {}

// ---- names -------------------------------------------------------------------------------------

var suffix = uniqueString(resourceGroup().id, workloadName, environmentName)
var baseName = '${workloadName}-${environmentName}'
var names = {
  workspace: 'log-${baseName}'
  appInsights: 'appi-${baseName}'
  storage: take('st${workloadName}${environmentName}${suffix}', 24)
  serviceBus: 'sb-${baseName}-${take(suffix, 6)}'
  keyVault: 'kv-${baseName}-${take(suffix, 6)}'
  plan: 'asp-${baseName}'
  functionApp: 'func-${baseName}-${take(suffix, 6)}'
  vnet: 'vnet-${baseName}'
}
var allTags = union(tags, { environment: environmentName })
var deploymentContainerName = 'app-package'
var outreachQueueName = 'outreach'

// ---- settings ----------------------------------------------------------------------------------

// A Key Vault reference to the current version of a secret in this deployment's vault.
func keyVaultReference(vaultName string, secretName string) string =>
  '@Microsoft.KeyVault(SecretUri=https://${vaultName}${environment().suffixes.keyvaultDns}/secrets/${secretName})'

// Key Vault secret names allow letters, digits and dashes.
func secretName(parts string[]) string => toLower(replace(join(parts, '-'), '_', '-'))

var linkBaseUrl = empty(publicBaseUrl) ? 'https://${names.functionApp}.azurewebsites.net' : publicBaseUrl

var platformSettings = [
  { name: 'AzureWebJobsStorage__accountName', value: names.storage }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: monitoring.outputs.appInsightsConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
]

var engagementSettings = [
  { name: 'Engagement__PublicBaseUrl', value: linkBaseUrl }
  { name: 'Engagement__SecondsPerDay', value: string(secondsPerDay) }
  { name: 'Engagement__Outbox__Transport', value: 'ServiceBus' }
  { name: 'ServiceBusConnection__fullyQualifiedNamespace', value: serviceBus.outputs.fullyQualifiedNamespace }
]

var sourceSettings = flatten(map(
  sources,
  source =>
    concat(
      [
        { name: 'Engagement__Sources__${source.name}__FhirBaseUrl', value: source.fhirBaseUrl }
      ],
      map(items(source.?auth ?? {}), setting => {
        name: 'Engagement__Sources__${source.name}__Auth__${setting.key}'
        value: setting.value
      })
    )
))

var smartSettings = flatten(map(range(0, length(smartIssuers)), n => [
  { name: 'Engagement__Smart__Issuers__${n}__Issuer', value: smartIssuers[n].issuer }
  { name: 'Engagement__Smart__Issuers__${n}__Audience', value: smartIssuers[n].audience }
]))

// Settings whose values are secrets: each becomes a Key Vault reference to the named secret, and the
// secret's name is listed in the output keyVaultEntriesToSet for the operator. A new secret setting
// in the contract is one more entry here.
var secretSettings = concat(
  [
    { setting: 'Engagement__AdminKey', secret: 'admin-key' }
  ],
  flatten(map(
    sources,
    source =>
      concat(
        [
          {
            setting: 'Engagement__Sources__${source.name}__InboundSecret'
            secret: secretName(['source', source.name, 'inbound-secret'])
          }
        ],
        source.?hmacSigned ?? false
          ? [
              {
                setting: 'Engagement__Sources__${source.name}__HmacKey'
                secret: secretName(['source', source.name, 'hmac-key'])
              }
            ]
          : [],
        map(source.?authSecrets ?? [], key => {
          setting: 'Engagement__Sources__${source.name}__Auth__${key}'
          secret: secretName(['source', source.name, 'auth', key])
        })
      )
  )),
  map(channels, channel => {
    setting: 'Engagement__Channels__${channel}__InboundSecret'
    secret: secretName(['channel', channel, 'inbound-secret'])
  })
)

var keyVaultReferenceSettings = map(secretSettings, entry => {
  name: entry.setting
  value: keyVaultReference(names.keyVault, entry.secret)
})

// ---- resources ---------------------------------------------------------------------------------

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    retentionInDays: logRetentionInDays
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    name: names.storage
    deploymentContainerName: deploymentContainerName
    workspaceId: monitoring.outputs.workspaceId
    privateOnly: enablePrivateNetworking
    tags: allTags
  }
}

module serviceBus 'modules/service-bus.bicep' = {
  name: 'service-bus'
  params: {
    location: location
    name: names.serviceBus
    sku: enablePrivateNetworking ? 'Premium' : 'Standard'
    outreachQueueName: outreachQueueName
    duplicateDetectionWindow: duplicateDetectionWindow
    workspaceId: monitoring.outputs.workspaceId
    privateOnly: enablePrivateNetworking
    tags: allTags
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  params: {
    location: location
    name: names.keyVault
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    enablePurgeProtection: keyVaultPurgeProtection
    privateOnly: enablePrivateNetworking
    operatorIpRanges: keyVaultOperatorIpRanges
    workspaceId: monitoring.outputs.workspaceId
    tags: allTags
  }
}

module network 'modules/network.bicep' = if (enablePrivateNetworking) {
  name: 'network'
  params: {
    location: location
    name: names.vnet
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
    tags: allTags
  }
}

var privateEndpoints = [
  { groupId: 'blob', type: 'Microsoft.Storage/storageAccounts', serviceName: names.storage }
  { groupId: 'queue', type: 'Microsoft.Storage/storageAccounts', serviceName: names.storage }
  { groupId: 'table', type: 'Microsoft.Storage/storageAccounts', serviceName: names.storage }
  { groupId: 'namespace', type: 'Microsoft.ServiceBus/namespaces', serviceName: names.serviceBus }
  { groupId: 'vault', type: 'Microsoft.KeyVault/vaults', serviceName: names.keyVault }
]

module endpoints 'modules/private-endpoint.bicep' = [
  for endpoint in privateEndpoints: if (enablePrivateNetworking) {
    name: 'pe-${endpoint.groupId}'
    params: {
      location: location
      name: 'pe-${endpoint.serviceName}-${endpoint.groupId}'
      serviceId: resourceId(endpoint.type, endpoint.serviceName)
      groupId: endpoint.groupId
      subnetId: network.?outputs.privateEndpointSubnetId ?? ''
      privateDnsZoneId: network.?outputs.zoneIds[endpoint.groupId] ?? ''
      tags: allTags
    }
    dependsOn: [
      storage
      serviceBus
      keyVault
    ]
  }
]

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    location: location
    planName: names.plan
    name: names.functionApp
    storageAccountName: names.storage
    deploymentContainerName: deploymentContainerName
    runtimeVersion: functionsRuntimeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: concat(platformSettings, engagementSettings, sourceSettings, smartSettings, keyVaultReferenceSettings)
    virtualNetworkSubnetId: network.?outputs.appSubnetId ?? ''
    workspaceId: monitoring.outputs.workspaceId
    tags: allTags
  }
  dependsOn: [
    storage
    endpoints
  ]
}

module appAccess 'modules/app-access.bicep' = {
  name: 'app-access'
  params: {
    principalId: functionApp.outputs.principalId
    appId: resourceId('Microsoft.Web/sites', names.functionApp)
    storageAccountName: names.storage
    serviceBusNamespaceName: names.serviceBus
    keyVaultName: names.keyVault
    appInsightsName: names.appInsights
  }
  dependsOn: [
    storage
    keyVault
  ]
}

// ---- outputs -----------------------------------------------------------------------------------

@description('Function App name: the target of `func azure functionapp publish`.')
output functionAppName string = functionApp.outputs.name

@description('Function App default host name.')
output functionAppHostName string = functionApp.outputs.defaultHostName

@description('Key Vault that holds the app\'s secrets.')
output keyVaultName string = keyVault.outputs.name

@description('Names of the Key Vault secrets to set after deployment (values are never part of the deployment).')
output keyVaultEntriesToSet string[] = map(secretSettings, entry => entry.secret)

@description('Service Bus queue the outbox sends outreach messages to.')
output outreachQueue string = serviceBus.outputs.outreachQueueName
