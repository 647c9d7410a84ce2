// A private storage account of the Function App, reached only through private endpoints from its VNet
// (core/network.bicep): the host storage (AzureWebJobsStorage: blobs, queues and tables of Durable Functions)
// or the deployment storage (the package container). Identity access only. The CSV exports, which browsers
// download with SAS links, are in their own public account (core/exports-storage.bicep).
param name string
param location string
param tags object

@description('Blob containers to create (the host creates its own containers, queues and tables).')
param containerNames array = []

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206: LRS is enough: exports and Durable state are rebuilt from Gold SQL by the next materialization
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Private endpoints only: the Function App reaches the account through its VNet integration.
    publicNetworkAccess: 'Disabled'
    dnsEndpointType: 'Standard'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Deny'
    }
  }
}

// Top-level children (not nested `resource` blocks): checkov's parser keeps only one nested child.
resource blobServices 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    // No CORS rule: no browser reads this account (the exports, fetched by /explorer through their SAS links,
    // live in their own account, core/exports-storage.bicep, whose rule names the allowed origins).
  }
}

resource queueServices 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tableServices 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for containerName in containerNames: {
  parent: blobServices
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
