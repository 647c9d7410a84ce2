// Cosmos DB for NoSQL holding the materialized day/month documents. Entra ID only (local auth off);
// the app's data role is granted in app/rbac.bicep through sqlRoleAssignments. No public network access:
// the Function App reaches it through its private endpoint (main.bicep: cosmosEndpoints).
param name string
param location string
param tags object
param serverless bool
param databaseName string
param containerName string

@description('Autoscale ceiling (RU/s) of the container when not serverless.')
param autoscaleMaxThroughput int = 1000

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: serverless ? [
      {
        name: 'EnableServerless'
      }
    ] : []
    enableMultipleWriteLocations: false
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Disabled'
    networkAclBypass: 'None'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

// Index only what the queries filter and sort on (stores/documents_cosmos.py: region_code, doc_type,
// key range ORDER BY key; id); the big arrays of every document (intervals, hourly, days) are never
// queried, so indexing them would only cost write RUs.
resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = {
  parent: database
  name: containerName
  properties: {
    resource: {
      id: containerName
      partitionKey: {
        paths: [
          '/region_code'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/doc_type/?'
          }
          {
            path: '/key/?'
          }
          {
            path: '/id/?'
          }
          {
            path: '/region_code/?'
          }
        ]
        excludedPaths: [
          {
            path: '/intervals/*'
          }
          {
            path: '/hourly/*'
          }
          {
            path: '/days/*'
          }
          {
            path: '/*'
          }
        ]
        compositeIndexes: [
          [
            {
              path: '/region_code'
              order: 'ascending'
            }
            {
              path: '/doc_type'
              order: 'ascending'
            }
            {
              path: '/key'
              order: 'ascending'
            }
          ]
        ]
      }
    }
    options: serverless ? {} : {
      autoscaleSettings: {
        maxThroughput: autoscaleMaxThroughput
      }
    }
  }
}

output name string = account.name
output id string = account.id
output endpoint string = account.properties.documentEndpoint
