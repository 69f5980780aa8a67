// Production: private networking (VNet integration, private endpoints, Service Bus Premium),
// Key Vault purge protection, longer log retention.
// Replace the example.org values with your EHRs', channels' and authorization servers' before deploying.
using '../main.bicep'

param environmentName = 'prod'
param workloadName = 'engage'

param publicBaseUrl = 'https://engage.example.org'
param secondsPerDay = 86400

param sources = [
  {
    name: 'ehr'
    fhirBaseUrl: 'https://fhir.ehr.example.org/r4'
    hmacSigned: true
    auth: {
      Mode: 'SmartBackendServices'
      ClientId: 'engagement-functions'
      TokenUrl: 'https://fhir.ehr.example.org/oauth2/token'
    }
    authSecrets: [
      'PrivateKey'
    ]
  }
  {
    name: 'ahds'
    fhirBaseUrl: 'https://workspace-fhir.fhir.azurehealthcareapis.com'
  }
]

param channels = [
  'sms'
  'email'
]

param smartIssuers = [
  {
    issuer: 'https://auth.ehr.example.org'
    audience: 'https://engage.example.org/api/fhir'
  }
]

param instanceMemoryMB = 2048
param maximumInstanceCount = 100
param logRetentionInDays = 90
param keyVaultSoftDeleteRetentionInDays = 90
param keyVaultPurgeProtection = true
param enablePrivateNetworking = true
param keyVaultOperatorIpRanges = []

param tags = {
  workload: 'engagement-functions'
}
