// Private networking (enablePrivateNetworking): a virtual network with one subnet for the Function
// App's outbound VNet integration (delegated to Microsoft.App/environments, as Flex Consumption needs)
// and one for private endpoints, plus the private DNS zones those endpoints register in.

@description('Azure region.')
param location string

@description('Virtual network name.')
param name string

@description('Address space of the virtual network (CIDR).')
param addressPrefix string

@description('Subnet for the Function App VNet integration (CIDR, /27 or larger).')
param appSubnetPrefix string

@description('Subnet for private endpoints (CIDR).')
param privateEndpointSubnetPrefix string

@description('Tags applied to every resource.')
param tags resourceTags

import { privateDnsZoneIds, resourceTags } from '../types.bicep'

// Zone names per private-link sub-resource. Storage and Key Vault suffixes come from the cloud environment.
var zoneNames = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  queue: 'privatelink.queue.${environment().suffixes.storage}'
  table: 'privatelink.table.${environment().suffixes.storage}'
  namespace: 'privatelink.servicebus.windows.net'
  vault: 'privatelink${replace(environment().suffixes.keyvaultDns, 'vault.', 'vaultcore.')}'
}

resource vnet 'Microsoft.Network/virtualNetworks@2025-01-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }

  resource appSubnet 'subnets' existing = {
    name: 'app'
  }

  resource privateEndpointSubnet 'subnets' existing = {
    name: 'private-endpoints'
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for zone in items(zoneNames): {
    name: zone.value
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (zone, i) in items(zoneNames): {
    parent: zones[i]
    name: vnet.name
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

output appSubnetId string = vnet::appSubnet.id
output privateEndpointSubnetId string = vnet::privateEndpointSubnet.id

output zoneIds privateDnsZoneIds = {
  blob: resourceId('Microsoft.Network/privateDnsZones', zoneNames.blob)
  queue: resourceId('Microsoft.Network/privateDnsZones', zoneNames.queue)
  table: resourceId('Microsoft.Network/privateDnsZones', zoneNames.table)
  namespace: resourceId('Microsoft.Network/privateDnsZones', zoneNames.namespace)
  vault: resourceId('Microsoft.Network/privateDnsZones', zoneNames.vault)
}
