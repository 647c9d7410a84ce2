// Optional API Management gateway in front of the Function App (main.bicep: deployApim). It forwards
// every route and method unchanged and throttles per accepted credential (app/apim-policy.xml). Its calls leave
// through the VNet, and the Function App then admits only them (app/api.bicep: accessRestrictions).
param name string
param location string
param tags object
param sku string
param publisherEmail string
param backendUrl string
param callsPerMinute int

@description('Subnet (delegated to Microsoft.Web/serverFarms) of the gateway\'s VNet integration.')
param subnetId string

resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {
  // checkov:skip=CKV_AZURE_107: the gateway is the public entry point of a public API; the VNet carries only its calls to the Function App (VNet integration)
  // checkov:skip=CKV_AZURE_174: same: the gateway must be reachable from the internet to serve the API
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
    capacity: 1
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: 'eco2mix regional API'
    publicNetworkAccess: 'Enabled'
    // Standard v2 VNet integration (outbound only): the Function App admits this subnet and nothing else.
    virtualNetworkType: 'External'
    virtualNetworkConfiguration: {
      subnetResourceId: subnetId
    }
    customProperties: {
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Ssl30': 'false'
    }
  }
}

// The app authenticates callers itself (X-API-Key or bearer token), so APIM subscriptions are off.
resource api 'Microsoft.ApiManagement/service/apis@2024-05-01' = {
  parent: apim
  name: 'eco2mix'
  properties: {
    displayName: 'eco2mix regional API'
    path: ''
    protocols: [
      'https'
    ]
    serviceUrl: backendUrl
    subscriptionRequired: false
  }
}

// Every method the app routes (api/http.py ALL_METHODS): HEAD answers as GET does, OPTIONS carries the
// browsers' CORS preflights to the app, which answers them with its own rule (CORS_ALLOWED_ORIGINS), and a
// wrong method gets the app's 405 problem. An operation missing here is the gateway's 404, not the app's answer.
var methods = [
  'GET'
  'HEAD'
  'POST'
  'PUT'
  'PATCH'
  'DELETE'
  'OPTIONS'
]

resource operations 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = [for method in methods: {
  parent: api
  name: 'all-${toLower(method)}'
  properties: {
    displayName: '${method} /*'
    method: method
    urlTemplate: '/*'
  }
}]

resource policy 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = {
  parent: api
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: replace(loadTextContent('apim-policy.xml'), '__CALLS_PER_MINUTE__', string(callsPerMinute))
  }
}

output gatewayUrl string = apim.properties.gatewayUrl
