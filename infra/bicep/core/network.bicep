// The VNet of the Function App: its outbound traffic (Flex Consumption VNet integration, subnet `app`
// delegated to Microsoft.App/environments) reaches the private storage accounts and Cosmos DB through
// private endpoints (subnet `private-endpoints`, core/private-endpoint.bicep). The private DNS zones, linked
// to the VNet, resolve the services' usual host names to those endpoints, so no app setting changes.
// Subnet `apim` hosts the outbound side of API Management when it is deployed.
param name string
param location string
param tags object

@description('Private DNS zone names (privatelink.*) of the services reached through private endpoints.')
param privateDnsZoneNames array

// One NSG on every subnet: Azure's default rules (VNet and load balancer in, nothing else from the internet),
// so a resource later put in a subnet is not reachable from outside by accident. Outbound, the app's webhook
// deliveries need HTTPS to the internet: stated as a rule of its own rather than left to the default
// AllowInternetOutBound, so that tightening the defaults later keeps deliveries working.
resource nsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-${name}'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'allow-https-outbound'
        properties: {
          description: 'Webhook deliveries (Standard Webhooks POSTs) to subscribers\' public HTTPS endpoints'
          priority: 100
          direction: 'Outbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: 'Internet'
          destinationPortRange: '443'
        }
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        '10.0.0.0/16'
      ]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: '10.0.1.0/24'
          networkSecurityGroup: {
            id: nsg.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: '10.0.2.0/24'
          networkSecurityGroup: {
            id: nsg.id
          }
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
      {
        // API Management (Standard v2) VNet integration: its calls to the Function App leave from here, over
        // the Microsoft.Web service endpoint, so the app's access restriction can name this subnet.
        name: 'apim'
        properties: {
          addressPrefix: '10.0.3.0/27'
          networkSecurityGroup: {
            id: nsg.id
          }
          delegations: [
            {
              name: 'apim-v2'
              properties: {
                serviceName: 'Microsoft.Web/serverFarms'
              }
            }
          ]
          serviceEndpoints: [
            {
              service: 'Microsoft.Web'
            }
          ]
        }
      }
    ]
  }
}

resource dnsZones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for zoneName in privateDnsZoneNames: {
  name: zoneName
  location: 'global'
  tags: tags
}]

resource dnsLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (zoneName, i) in privateDnsZoneNames: {
  parent: dnsZones[i]
  name: 'link-${name}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}]

output appSubnetId string = '${vnet.id}/subnets/app'
output privateEndpointSubnetId string = '${vnet.id}/subnets/private-endpoints'
output apimSubnetId string = '${vnet.id}/subnets/apim'
output dnsZoneIds array = [for (zoneName, i) in privateDnsZoneNames: dnsZones[i].id]
