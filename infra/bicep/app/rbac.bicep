// Every role assignment of the deployment, on the narrowest scope that works.
param hostStorageAccountName string
param deploymentStorageAccountName string
param deploymentContainerName string
param exportsStorageAccountName string
param exportsContainerName string
param cosmosAccountName string
@description('The Cosmos DB database of the app: its data role is scoped to it, not to the whole account.')
param cosmosDatabaseName string
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
// The app's one database (its container and nothing else of the account).
var cosmosDatabaseScope = '${cosmos.id}/dbs/${cosmosDatabaseName}'

// Host storage only (AzureWebJobsStorage): the Functions host and the Durable extension create their own
// containers (leases, large messages), queues and tables, so these roles are account-wide. This account
// holds neither the deployment package nor the exports.
var identityHostStorageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

var developerStorageRoles = [
  roles.storageBlobDataContributor
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageAccountName
}

resource deploymentStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: deploymentStorageAccountName
}

resource deploymentBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: deploymentStorage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: deploymentBlobs
  name: deploymentContainerName
}

resource exportsStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: exportsStorageAccountName
}

resource exportsBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: exportsStorage
  name: 'default'
}

resource exportsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: exportsBlobs
  name: exportsContainerName
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' existing = {
  name: cosmosAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// Blob Data Owner, Queue/Table Data Contributor: AzureWebJobsStorage and the Durable Functions task hub.
resource identityHostStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in identityHostStorageRoles: {
  name: guid(hostStorage.id, identityPrincipalId, roleId)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

// Flex Consumption reads (and, on deploy, writes) the package with the app's identity: that one container.
resource identityDeploymentContainer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deploymentContainer.id, identityPrincipalId, roles.storageBlobDataContributor)
  scope: deploymentContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The CSV files: read and write the exports container only.
resource identityExportsContainer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exportsContainer.id, identityPrincipalId, roles.storageBlobDataContributor)
  scope: exportsContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// User-delegation keys behind the export SAS links: an account-level action, and the only one of this role.
resource identityExportsDelegator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exportsStorage.id, identityPrincipalId, roles.storageBlobDelegator)
  scope: exportsStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDelegator)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

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
    scope: cosmosDatabaseScope
  }
}

// The developer's data roles. Host storage and Cosmos DB accept only private endpoints, so these work
// from inside the VNet (or after adding a firewall rule by hand), not from a laptop on the internet.
resource developerStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in developerStorageRoles: if (!empty(developerPrincipalId)) {
  name: guid(hostStorage.id, developerPrincipalId, roleId)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}]

resource developerExports 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(developerPrincipalId)) {
  name: guid(exportsContainer.id, developerPrincipalId, roles.storageBlobDataContributor)
  scope: exportsContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}

resource developerCosmos 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = if (!empty(developerPrincipalId)) {
  parent: cosmos
  name: guid(cosmos.id, developerPrincipalId, cosmosDataContributorId)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributorId}'
    principalId: developerPrincipalId
    scope: cosmosDatabaseScope
  }
}
