// Storage account of the CSV exports only. Browsers download the files with short-lived user-delegation SAS
// links (/v1/export/csv), so its blob endpoint stays reachable from the internet; nothing else lives here
// (the host storage and the deployment package are in private accounts, core/storage.bicep). Shared keys
// are off: a SAS can only be signed with a user-delegation key, i.e. by an Entra ID identity.
param name string
param location string
param tags object
param containerName string

@description('Origins allowed to fetch the files from a browser (CORS on the blob service).')
param corsAllowedOrigins array

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the download links are SAS URLs fetched by browsers and HTTP clients anywhere; shared keys are off, so only an Entra-signed user-delegation SAS or a data role reads a file
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: public network access is what a download link needs; anonymous blob access stays off (allowBlobPublicAccess false)
  // checkov:skip=CKV_AZURE_206: LRS is enough: every export is rebuilt from Gold SQL by the next materialization
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
    publicNetworkAccess: 'Enabled'
    dnsEndpointType: 'Standard'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// CORS: a page (the explorer, a dashboard) fetches a download link. Read-only methods; a SAS link is a
// bearer capability anyway, so the origin check adds no secrecy, it only lets browsers read the answer.
resource blobServices 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    cors: {
      corsRules: [
        {
          allowedOrigins: corsAllowedOrigins
          allowedMethods: [
            'GET'
            'HEAD'
            'OPTIONS'
          ]
          allowedHeaders: [
            'Range'
            'If-None-Match'
            'If-Modified-Since'
          ]
          exposedHeaders: [
            'Content-Disposition'
            'Content-Length'
            'Content-Type'
            'ETag'
            'Last-Modified'
          ]
          maxAgeInSeconds: 600
        }
      ]
    }
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobServices
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

// The export routes keep each bulk file per version under bulk/ (domain/bulk_export.py): a superseded version
// is never read again, and a current one that is deleted is rebuilt by its next request. So files under bulk/
// go 30 days after their last write; the materialized CSV files beside them are never expired.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          enabled: true
          name: 'expire-bulk-export-versions'
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${containerName}/bulk/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: 30
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    container
  ]
}

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
