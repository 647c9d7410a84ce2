// Entry point for `azd provision`: one resource group with the Function App (Flex Consumption), its
// identity, storage, Cosmos DB, monitoring, role assignments and an optional API Management gateway.
// Kept to the Bicep subset checkov's parser (pycep) reads, so `make test` can check it offline.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds the unique suffix of every resource name.')
param environmentName string

// The regions that offer Flex Consumption (FC1), as listed by the official Flex Consumption azd samples
// (`az functionapp list-flexconsumption-locations` gives the live list). Elsewhere the plan fails to deploy.
@minLength(1)
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@description('Region of every resource; one that offers Flex Consumption.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the developer running azd, granted data access for debugging. Empty: none.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
@description('Kind of principal principalId is (azd: AZURE_PRINCIPAL_TYPE, ServicePrincipal in CI).')
param principalType string = 'User'

@description('Azure SQL logical server holding the Gold tables (FQDN, e.g. myserver.database.windows.net).')
param goldSqlServer string = ''

@description('Azure SQL database holding the Gold tables.')
param goldSqlDatabase string = ''

@description('ODBC driver name on the Functions Python image.')
param goldOdbcDriver string = 'ODBC Driver 18 for SQL Server'

@secure()
@description('API keys, comma-separated role:sha256hex-of-key (reader, operator). Empty: Entra ID only.')
param apiKeys string = ''

@description('Expected audience of Entra ID bearer tokens. Empty: bearer tokens are not accepted.')
param authAudience string = ''

@description('Comma-separated origins allowed by CORS. Empty: no CORS headers.')
param corsAllowedOrigins string = ''

@description('NCRONTAB (six fields) of the incremental materialization timer.')
param materializeSchedule string = '0 */15 * * * *'

@minValue(1)
@maxValue(500)
// Also the app-wide bound on concurrent materialization activities: with host.json's
// maxConcurrentActivityFunctions (8 per instance) one wave needs ceil(24 / 8) = 3 instances, and the
// Cosmos DB serverless throughput (not instances) caps a backfill (README, Performance in Azure).
@description('Region x month activities per orchestration wave.')
param materializeBatchSize int = 24

@minValue(30)
@maxValue(900)
@description('Lifetime of the user-delegation SAS links returned by /v1/export/csv.')
param downloadTtlSeconds int = 600

@allowed([
  512
  2048
  4096
])
// 2048 MB: about one vCPU. host.json's maxConcurrentActivityFunctions (8) is sized for it: a region-month
// activity waits on SQL, Cosmos DB and Blob far longer than it computes, and 8 of them stay well inside 2 GB.
@description('Memory of each Flex Consumption instance (MB).')
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
// For the HTTP group's bursts (Flex's floor is 40): the Durable group never needs more than a wave's worth
// (materializeBatchSize / maxConcurrentActivityFunctions), so this limit guards cost, not the backfill.
@description('Upper bound of Flex Consumption scale-out.')
param maximumInstanceCount int = 100

@minValue(0)
@maxValue(20)
@description('Always-ready instances for the HTTP group. 0: scale to zero (cold starts on the first call).')
param alwaysReadyInstances int = 0

@minValue(1)
@maxValue(1000)
// Unset, Flex sends a Python app's instance one HTTP request at a time: every concurrent caller is another
// instance, often a cold one, and the async triggers' awaits overlap nothing. 16 is measured through the real
// worker (python -m bench.worker_concurrency, docs/performance.md): with 16 in flight an instance serves 1.5 to
// 2.8 times the requests of 1, for less CPU each; 32 adds no throughput, only queueing (p99 doubles).
@description('HTTP invocations one instance runs at once (functionAppConfig.scaleAndConcurrency.triggers.http).')
param httpPerInstanceConcurrency int = 16

@description('Cosmos DB capacity mode: serverless (true) or provisioned autoscale throughput (false).')
param cosmosServerless bool = true

@description('Put Azure API Management in front of the Function App.')
param deployApim bool = false

// Standard v2: the v2 tier with VNet integration, which lets the Function App admit the gateway alone (the
// gateway's outbound addresses are neither static nor in the ApiManagement service tag). The Consumption
// tier has no rate-limit-by-key.
@allowed([
  'StandardV2'
])
@description('API Management tier.')
param apimSku string = 'StandardV2'

@description('Publisher e-mail required by API Management.')
param apimPublisherEmail string = 'ops@example.com'

@minValue(1)
@description('Calls allowed per accepted credential and minute at the API Management gateway.')
param apimCallsPerMinute int = 120

@description('E-mail notified by the alert rules (materialization lag, failed orchestrations). Empty: portal only.')
param alertEmail string = ''

@minValue(30)
@maxValue(1440)
@description('Minutes without a committed materialization before the lag alert fires.')
param materializationLagAlertMinutes int = 60

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentStorageContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var exportsContainerName = 'exports'
var cosmosDatabaseName = 'eco2mix'
var cosmosContainerName = 'aggregates'
// Browsers may fetch download links from the configured CORS origins plus the app's own pages (direct or
// through the gateway), or from anywhere when none is set (a SAS link is a bearer capability: the origin
// check protects nothing a curl call could not read).
var functionAppUrl = 'https://${functionAppName}.azurewebsites.net'
// The gateway's URL, known before it exists (its output would make a cycle: the gateway's backend is the app).
var gatewayUrl = 'https://${abbrs.apiManagementService}${resourceToken}.azure-api.net'
var selfOrigins = [
  functionAppUrl
  gatewayUrl
]
var exportsCorsOrigins = empty(corsAllowedOrigins) ? [
  '*'
] : union(split(replace(corsAllowedOrigins, ' ', ''), ','), selfOrigins)

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
  // No settable property, but the ARM schema of resourceGroups requires the object.
  properties: {}
}

// The one identity the app uses for every data plane (storage, Cosmos DB, SQL, App Insights ingestion).
module apiIdentity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'apiIdentity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

// Flex Consumption plan (FC1): per-execution billing, scale to zero, Linux only.
module appServicePlan 'br/public:avm/res/web/serverfarm:0.1.1' = {
  name: 'appServicePlan'
  scope: rg
  params: {
    name: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    sku: {
      name: 'FC1'
      tier: 'FlexConsumption'
    }
    reserved: true
  }
}

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: 'logAnalytics'
  scope: rg
  params: {
    name: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    location: location
    tags: tags
    dataRetention: 30
  }
}

module monitoring 'core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    name: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceId: logAnalytics.outputs.resourceId
  }
}

// Three storage accounts, so that each identity permission has one purpose (app/rbac.bicep):
// host storage (AzureWebJobsStorage, Durable Functions), deployment storage (the package), both private;
// exports storage (CSV files behind SAS links), public because browsers download from it.
module storage 'core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
  }
}

module deploymentStorage 'core/storage.bicep' = {
  name: 'deploymentStorage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}pkg${resourceToken}'
    location: location
    tags: tags
    containerNames: [
      deploymentStorageContainerName
    ]
  }
}

module exportsStorage 'core/exports-storage.bicep' = {
  name: 'exportsStorage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}exp${resourceToken}'
    location: location
    tags: tags
    containerName: exportsContainerName
    corsAllowedOrigins: exportsCorsOrigins
  }
}

// Private networking: the app's outbound traffic goes through the VNet; storage and Cosmos DB accept
// only their private endpoints. Flex Consumption VNet integration needs the Microsoft.App resource
// provider (the preprovision hook registers it).
var privateDnsZoneNames = [
  'privatelink.blob.${environment().suffixes.storage}'
  'privatelink.queue.${environment().suffixes.storage}'
  'privatelink.table.${environment().suffixes.storage}'
  'privatelink.documents.azure.com'
]

module network 'core/network.bicep' = {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
    privateDnsZoneNames: privateDnsZoneNames
  }
}

module storageEndpoints 'core/private-endpoint.bicep' = {
  name: 'storageEndpoints'
  scope: rg
  params: {
    namePrefix: '${abbrs.networkPrivateEndpoints}host-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    targetId: storage.outputs.id
    groupIds: [
      'blob'
      'queue'
      'table'
    ]
    privateDnsZoneIds: [
      network.outputs.dnsZoneIds[0]
      network.outputs.dnsZoneIds[1]
      network.outputs.dnsZoneIds[2]
    ]
  }
}

module deploymentStorageEndpoints 'core/private-endpoint.bicep' = {
  name: 'deploymentStorageEndpoints'
  scope: rg
  params: {
    namePrefix: '${abbrs.networkPrivateEndpoints}pkg-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    targetId: deploymentStorage.outputs.id
    groupIds: [
      'blob'
    ]
    privateDnsZoneIds: [
      network.outputs.dnsZoneIds[0]
    ]
  }
}

module cosmosEndpoints 'core/private-endpoint.bicep' = {
  name: 'cosmosEndpoints'
  scope: rg
  params: {
    namePrefix: '${abbrs.networkPrivateEndpoints}cosmos-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    targetId: cosmos.outputs.id
    groupIds: [
      'Sql'
    ]
    privateDnsZoneIds: [
      network.outputs.dnsZoneIds[3]
    ]
  }
}

module cosmos 'core/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    name: '${abbrs.documentDBDatabaseAccounts}${resourceToken}'
    location: location
    tags: tags
    serverless: cosmosServerless
    databaseName: cosmosDatabaseName
    containerName: cosmosContainerName
  }
}

module alerts 'core/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: '${abbrs.insightsScheduledQueryRules}${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceId: logAnalytics.outputs.resourceId
    alertEmail: alertEmail
    lagThresholdMinutes: materializationLagAlertMinutes
  }
}

// Every setting core/settings.py reads in Azure (tests/integration/infra checks this list against the code).
// Identity plumbing (AzureWebJobsStorage__*, AZURE_CLIENT_ID, App Insights auth) is added in app/api.bicep.
var appSettings = {
  DATA_DIR: '/tmp/eco2mix'
  GOLD_SQL_SERVER: goldSqlServer
  GOLD_SQL_DATABASE: goldSqlDatabase
  GOLD_ODBC_DRIVER: goldOdbcDriver
  GOLD_QUERY_TIMEOUT_SECONDS: '300'
  STORE_READ_TIMEOUT_SECONDS: '2'
  STORE_READ_ATTEMPTS: '2'
  STORE_READ_THROTTLE_WAIT_SECONDS: '1'
  STORE_RETRY_AFTER_SECONDS: '5'
  DOCUMENT_CACHE_MIB: '128'
  DOCUMENT_CACHE_STALE_SECONDS: '30'
  STORE_BATCH_TIMEOUT_SECONDS: '60'
  STORE_BATCH_ATTEMPTS: '12'
  STORE_BATCH_THROTTLE_WAIT_SECONDS: '60'
  COSMOS_ENDPOINT: cosmos.outputs.endpoint
  COSMOS_DATABASE: cosmosDatabaseName
  COSMOS_CONTAINER: cosmosContainerName
  BLOB_ACCOUNT_URL: exportsStorage.outputs.blobEndpoint
  BLOB_CONTAINER: exportsContainerName
  DOWNLOAD_TTL_SECONDS: string(downloadTtlSeconds)
  API_KEYS: apiKeys
  AUTH_TENANT_ID: tenant().tenantId
  AUTH_AUDIENCE: authAudience
  AUTH_JWKS_CACHE_SECONDS: '3600'
  AUTH_JWKS_STALE_GRACE_SECONDS: '21600'
  AUTH_CLOCK_SKEW_SECONDS: '60'
  RATE_LIMIT_REQUESTS: '1200'
  RATE_LIMIT_WINDOW_SECONDS: '60'
  EXPORT_MAX_CONCURRENT_BUILDS: '2'
  EXPORT_BUILD_WAIT_SECONDS: '60'
  EXPORT_RETRY_AFTER_SECONDS: '10'
  EXPORT_BUILD_RATE_COST: '60'
  CORS_ALLOWED_ORIGINS: corsAllowedOrigins
  // Links in responses name the URL callers use: the gateway (its API path is empty, app/apim.bicep) when it
  // is deployed, since the app then admits only the gateway; never the request's Host header.
  API_PUBLIC_URL: deployApim ? gatewayUrl : functionAppUrl
  // Behind the gateway, X-Forwarded-For ends with the gateway's address (appended by the Functions front end)
  // and, left of it, the caller's (appended by the gateway).
  TRUSTED_PROXY_HOPS: deployApim ? '1' : '0'
  RATE_LIMIT_ANONYMOUS_REQUESTS: '300'
  HEALTH_CACHE_SECONDS: '5'
  HEALTH_STALE_AFTER_SECONDS: '7200'
  MATERIALIZE_SCHEDULE: materializeSchedule
  MATERIALIZE_BATCH_SIZE: string(materializeBatchSize)
  // Late Gold commits and failing region-months (infra/sql/README.md): the code's defaults, set explicitly.
  MATERIALIZE_WATERMARK_OVERLAP_SECONDS: '3600'
  MATERIALIZE_RETRY_BASE_SECONDS: '900'
  MATERIALIZE_RETRY_MAX_SECONDS: '86400'
  MATERIALIZE_SET_ASIDE_AFTER_FAILURES: '3'
  WEBHOOKS_BATCH_SIZE: '100'
  WEBHOOKS_RETRY_BASE_SECONDS: '30'
  WEBHOOKS_RETRY_MAX_SECONDS: '3600'
  WEBHOOKS_RETRY_WINDOW_SECONDS: '86400'
  WEBHOOKS_CONNECT_TIMEOUT_SECONDS: '5'
  WEBHOOKS_READ_TIMEOUT_SECONDS: '10'
  WEBHOOKS_MAX_RESPONSE_BYTES: '65536'
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  DURABLE_TASK_HUB: 'eco2mix'
}

// dependsOn: the host starts as soon as the site exists and needs its storage, Cosmos DB and telemetry
// roles then (otherwise 403s until the assignments land), and the private endpoints to reach them.
module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  dependsOn: [
    rbac
    storageEndpoints
    deploymentStorageEndpoints
    cosmosEndpoints
  ]
  params: {
    name: functionAppName
    location: location
    tags: tags
    serviceName: 'api'
    appServicePlanId: appServicePlan.outputs.resourceId
    storageAccountName: storage.outputs.name
    deploymentStorageAccountName: deploymentStorage.outputs.name
    deploymentStorageContainerName: deploymentStorageContainerName
    virtualNetworkSubnetId: network.outputs.appSubnetId
    identityId: apiIdentity.outputs.resourceId
    identityClientId: apiIdentity.outputs.clientId
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyInstances: alwaysReadyInstances
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    apimSubnetId: deployApim ? network.outputs.apimSubnetId : ''
    appSettings: appSettings
  }
}

// All role assignments in one place: what the identity may do is reviewable in one file.
module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    hostStorageAccountName: storage.outputs.name
    deploymentStorageAccountName: deploymentStorage.outputs.name
    deploymentContainerName: deploymentStorageContainerName
    exportsStorageAccountName: exportsStorage.outputs.name
    exportsContainerName: exportsContainerName
    cosmosAccountName: cosmos.outputs.name
    cosmosDatabaseName: cosmosDatabaseName
    appInsightsName: monitoring.outputs.name
    identityPrincipalId: apiIdentity.outputs.principalId
    developerPrincipalId: principalId
    developerPrincipalType: principalType
  }
}

module apim 'app/apim.bicep' = if (deployApim) {
  name: 'apim'
  scope: rg
  params: {
    name: '${abbrs.apiManagementService}${resourceToken}'
    location: location
    tags: tags
    sku: apimSku
    publisherEmail: apimPublisherEmail
    backendUrl: 'https://${api.outputs.defaultHostName}'
    callsPerMinute: apimCallsPerMinute
    subnetId: network.outputs.apimSubnetId
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = 'https://${api.outputs.defaultHostName}'
output API_IDENTITY_NAME string = apiIdentity.outputs.name
output API_IDENTITY_CLIENT_ID string = apiIdentity.outputs.clientId
output API_IDENTITY_PRINCIPAL_ID string = apiIdentity.outputs.principalId
output GOLD_SQL_SERVER string = goldSqlServer
output GOLD_SQL_DATABASE string = goldSqlDatabase
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output BLOB_ACCOUNT_URL string = exportsStorage.outputs.blobEndpoint
output APIM_GATEWAY_URL string = deployApim ? apim.outputs.gatewayUrl : ''
