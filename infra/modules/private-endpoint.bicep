// One private endpoint for one sub-resource of a service, registered in its private DNS zone.

@description('Azure region.')
param location string

@description('Private endpoint name.')
param name string

@description('Resource id of the service (storage account, Service Bus namespace, Key Vault).')
param serviceId string

@description('Private-link sub-resource: blob, queue, table, namespace or vault.')
@allowed([
  'blob'
  'queue'
  'table'
  'namespace'
  'vault'
])
param groupId string

@description('Subnet for the endpoint\'s network interface.')
param subnetId string

@description('Private DNS zone the endpoint registers its address in.')
param privateDnsZoneId string

@description('Tags applied to every resource.')
param tags resourceTags

import { resourceTags } from '../types.bicep'

resource endpoint 'Microsoft.Network/privateEndpoints@2025-01-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: serviceId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }

  resource dnsZoneGroup 'privateDnsZoneGroups' = {
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: groupId
          properties: {
            privateDnsZoneId: privateDnsZoneId
          }
        }
      ]
    }
  }
}
