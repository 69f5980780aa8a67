// Development environment: public endpoints (identity-only access), no purge protection.
// Replace the example.org values with your EHR's and authorization server's before deploying.
using '../main.bicep'

param environmentName = 'dev'
param workloadName = 'engage'

// Empty: links point at the Function App's default host name.
param publicBaseUrl = ''
param secondsPerDay = 86400

param sources = [
  {
    name: 'ehr'
    fhirBaseUrl: 'https://fhir.ehr.example.org/r4'
    hmacSigned: true
    auth: {
      Mode: 'SmartBackendServices'
      ClientId: 'engagement-functions-dev'
      TokenUrl: 'https://fhir.ehr.example.org/oauth2/token'
    }
    authSecrets: [
      'PrivateKey'
    ]
  }
]

param channels = [
  'sms'
  'email'
]

param smartIssuers = [
  {
    issuer: 'https://auth.ehr.example.org'
    audience: 'https://fhir-facade.example.org/api/fhir'
  }
]

param instanceMemoryMB = 2048
param maximumInstanceCount = 40
param logRetentionInDays = 30
param keyVaultSoftDeleteRetentionInDays = 7
param keyVaultPurgeProtection = false
param enablePrivateNetworking = false

param tags = {
  workload: 'engagement-functions'
}
