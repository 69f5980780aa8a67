// Types shared by main.bicep, its modules and the environment parameter files.

@export()
@description('Tags applied to every resource (name -> value).')
type resourceTags = {
  *: string
}

@export()
@description('An EHR that sends notifications to /api/notifications/{name}. Its secrets live in Key Vault (see infra/README.md).')
type ehrSource = {
  @description('Route segment and configuration name: letters, digits and dashes (it also names Key Vault secrets).')
  @minLength(1)
  @maxLength(40)
  name: string

  @description('The EHR\'s FHIR base URL (Engagement__Sources__{name}__FhirBaseUrl).')
  fhirBaseUrl: string

  @description('When true, the EHR signs bodies: Engagement__Sources__{name}__HmacKey comes from Key Vault secret source-{name}-hmac-key.')
  hmacSigned: bool?

  @description('Non-secret settings for authenticating to the EHR\'s FHIR server: Engagement__Sources__{name}__Auth__{key} = value.')
  auth: {
    *: string
  }?

  @description('Secret settings for authenticating to the EHR\'s FHIR server: Engagement__Sources__{name}__Auth__{key} from Key Vault secret source-{name}-auth-{key, lowercased}.')
  authSecrets: string[]?
}

@export()
@description('An accepted SMART authorization server for /api/fhir.')
type smartIssuer = {
  @description('The issuer (iss) as it appears in access tokens.')
  issuer: string

  @description('The audience (aud) tokens must carry: usually {publicBaseUrl}/api/fhir.')
  audience: string
}

@export()
@description('One Function App application setting.')
type appSetting = {
  name: string
  value: string
}

@export()
@description('Private DNS zone id per private-link sub-resource.')
type privateDnsZoneIds = {
  blob: string
  queue: string
  table: string
  namespace: string
  vault: string
}
