// The private endpoints of one service in the VNet's `private-endpoints` subnet, one per sub-resource
// (blob, queue, table of a storage account; Sql of Cosmos DB), each registered in its private DNS zone.
param namePrefix string
param location string
param tags object
param subnetId string

@description('Resource id of the storage account or Cosmos DB account.')
param targetId string

@description('Sub-resources: blob, queue, table (storage) or Sql (Cosmos DB).')
param groupIds array

@description('Private DNS zone id of each group id, in the same order.')
param privateDnsZoneIds array

resource endpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [for groupId in groupIds: {
  name: '${namePrefix}-${toLower(groupId)}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: '${namePrefix}-${toLower(groupId)}'
        properties: {
          privateLinkServiceId: targetId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}]

resource dnsZoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [for (groupId, i) in groupIds: {
  parent: endpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: toLower(groupId)
        properties: {
          privateDnsZoneId: privateDnsZoneIds[i]
        }
      }
    ]
  }
}]
