// The Function App on Flex Consumption (Python 3.11). Its user-assigned identity reaches every data
// plane; no secret or account key appears in its settings.
param name string
param location string
param tags object
param serviceName string
param appServicePlanId string
param storageAccountName string
param deploymentStorageAccountName string
param deploymentStorageContainerName string

@description('Subnet (delegated to Microsoft.App/environments) of the VNet integration.')
param virtualNetworkSubnetId string
param identityId string
param identityClientId string
param instanceMemoryMB int
param maximumInstanceCount int
param alwaysReadyInstances int
@description('HTTP invocations one instance runs at once; chosen in main.bicep (Flex\'s Python default is 1).')
param httpPerInstanceConcurrency int

@description('Subnet of API Management\'s VNet integration; set: the app admits only traffic from it.')
param apimSubnetId string = ''

// Secure: it carries API_KEYS (hashes, still not for the deployment history).
@secure()
param appSettings object

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource deploymentStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: deploymentStorageAccountName
}

// Identity plumbing. AzureWebJobsStorage__*: the Functions host and the Durable extension reach the
// storage account's blobs, queues and tables with the identity instead of a connection string.
// AZURE_CLIENT_ID: DefaultAzureCredential (Cosmos DB, Blob, SQL adapters) picks the same identity.
var identitySettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_16: callers authenticate with the API's own X-API-Key / Entra ID bearer check (api/auth.py), not App Service Authentication
  // checkov:skip=CKV_AZURE_17: client certificates are not part of the public contract (X-API-Key / bearer token)
  // checkov:skip=CKV_AZURE_222: a public API; API Management (deployApim) is the place to restrict ingress
  // checkov:skip=CKV_AZURE_213: Flex Consumption has no platform health check; /v1/health serves external probes (and API Management)
  // checkov:skip=CKV_AZURE_78: Flex Consumption has no FTP publishing and rejects siteConfig.ftpsState (ARM error 51021); the package comes from a blob container
  // checkov:skip=CKV_AZURE_18: siteConfig on Flex Consumption is kept to what the official Flex samples set (minTlsVersion); http20Enabled is not among it
  // checkov:skip=CKV_AZURE_67: same as CKV_AZURE_18 (http20Enabled is not set on Flex Consumption)
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales out per demand (maximumInstanceCount); always-ready instances are a cost choice (alwaysReadyInstances)
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: appServicePlanId
    // Outbound through the VNet: storage and Cosmos DB accept only their private endpoints.
    virtualNetworkSubnetId: virtualNetworkSubnetId
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    // Flex Consumption rejects ftpsState (ARM error 51021) and no official Flex sample sets more than
    // minTlsVersion here: FTP publishing does not exist on Flex (the package is a blob, see below).
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [for setting in items(union(appSettings, identitySettings)): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${deploymentStorage.properties.primaryEndpoints.blob}${deploymentStorageContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        alwaysReady: (alwaysReadyInstances > 0) ? [
          {
            name: 'http'
            instanceCount: alwaysReadyInstances
          }
        ] : []
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No basic-auth (publishing profile user/password) deployments: the package comes from a blob container
// through the managed identity, and the scm site takes Entra ID tokens only.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

// With API Management deployed, the app answers only the gateway (its VNet-integration subnet): no way
// around the gateway's rate limit. The scm site (deployments, with Entra ID auth) keeps its own rules.
resource accessRestrictions 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(apimSubnetId)) {
  // checkov:skip=CKV_AZURE_13: this config only adds the site's access restrictions; callers authenticate in the app (X-API-Key / bearer), see functionApp
  // checkov:skip=CKV_AZURE_222: public network access stays on so the gateway reaches the app; the rule below admits only the gateway's subnet
  // checkov:skip=CKV_AZURE_63: HTTP logging is a site setting not carried by this access-restriction config; requests reach App Insights
  // checkov:skip=CKV_AZURE_65: detailed error pages are off by default and not set here; the app answers problem+json itself
  // checkov:skip=CKV_AZURE_66: failed request tracing is an IIS (Windows) feature; Flex Consumption is Linux only
  // checkov:skip=CKV_AZURE_80: no .NET Framework on a Python Flex Consumption app
  // checkov:skip=CKV_AZURE_88: Flex Consumption has no Azure Files content share (the package is a blob)
  parent: functionApp
  name: 'web'
  properties: {
    minTlsVersion: '1.2'
    ipSecurityRestrictions: [
      {
        name: 'api-management'
        description: 'API Management gateway (VNet integration subnet)'
        action: 'Allow'
        priority: 100
        vnetSubnetResourceId: apimSubnetId
      }
    ]
    ipSecurityRestrictionsDefaultAction: 'Deny'
    scmIpSecurityRestrictionsUseMain: false
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
