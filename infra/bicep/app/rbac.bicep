// Every role assignment of the deployment, on the narrowest scope that works.
param storageAccountName string
param cosmosAccountName string
param appInsightsName string
param identityPrincipalId string

@description('Developer object id granted data access for debugging; empty: none.')
param developerPrincipalId string = ''

// azd passes AZURE_PRINCIPAL_TYPE: 'ServicePrincipal' when a pipeline runs `azd up`; a mismatch fails the
// role assignment with UnmatchedPrincipalType.
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
@description('Kind of principal developerPrincipalId is.')
param developerPrincipalType string = 'User'

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageBlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Cosmos DB Built-in Data Contributor (a data-plane role of the account, not an Azure RBAC role).
var cosmosDataContributorId = '00000000-0000-0000-0000-000000000002'

// Host storage for the Functions host (blob leases, deployment package) and the app's CSV exports.
var identityStorageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
  roles.storageBlobDelegator
]

var developerStorageRoles = [
  roles.storageBlobDataContributor
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' existing = {
  name: cosmosAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// Blob Data Owner: AzureWebJobsStorage and the deployment container. Queue/Table Data Contributor:
// Durable Functions task hub. Blob Delegator: user-delegation keys behind the export SAS links.
resource identityStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in identityStorageRoles: {
  name: guid(storage.id, identityPrincipalId, roleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

// Identity-based telemetry ingestion (APPLICATIONINSIGHTS_AUTHENTICATION_STRING, local auth disabled).
resource identityMetrics 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identityPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource identityCosmos 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = {
  parent: cosmos
  name: guid(cosmos.id, identityPrincipalId, cosmosDataContributorId)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributorId}'
    principalId: identityPrincipalId
    scope: cosmos.id
  }
}

resource developerStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in developerStorageRoles: if (!empty(developerPrincipalId)) {
  name: guid(storage.id, developerPrincipalId, roleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}]

resource developerCosmos 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = if (!empty(developerPrincipalId)) {
  parent: cosmos
  name: guid(cosmos.id, developerPrincipalId, cosmosDataContributorId)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributorId}'
    principalId: developerPrincipalId
    scope: cosmos.id
  }
}
