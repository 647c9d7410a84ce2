// Application Insights on a Log Analytics workspace, ingestion by Entra ID only (no instrumentation-key
// writes): the app authenticates with its managed identity (Monitoring Metrics Publisher, app/rbac.bicep).
param name string
param location string
param tags object
param logAnalyticsWorkspaceId string

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: name
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalyticsWorkspaceId
    DisableLocalAuth: true
    publicNetworkAccessForIngestion: 'Enabled'
    // Queries go to the Log Analytics workspace (Entra ID and its RBAC); the component's own query
    // endpoint is closed to the internet.
    publicNetworkAccessForQuery: 'Disabled'
  }
}

output name string = appInsights.name
output connectionString string = appInsights.properties.ConnectionString
