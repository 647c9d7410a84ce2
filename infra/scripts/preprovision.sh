#!/bin/sh
# azd preprovision hook: Flex Consumption VNet integration (infra/bicep/core/network.bicep) needs the
# Microsoft.App resource provider registered in the subscription, and ARM does not register it by itself
# (no Microsoft.App resource is in the template). Registers it with the Azure CLI when it is not yet.
# Never blocks provisioning: without az, or when az fails, it prints the command to run.
set -u

subscription="${AZURE_SUBSCRIPTION_ID:-}"
manual="az provider register --namespace Microsoft.App${subscription:+ --subscription $subscription}"

if ! command -v az >/dev/null 2>&1; then
  echo "preprovision: Azure CLI (az) not found; if provisioning fails on the VNet integration, run: $manual" >&2
  exit 0
fi

state=$(az provider show --namespace Microsoft.App --query registrationState -o tsv \
  ${subscription:+--subscription "$subscription"} 2>/dev/null) || state="unknown"

if [ "$state" = "Registered" ]; then
  exit 0
fi

echo "preprovision: registering the Microsoft.App resource provider (Flex Consumption VNet integration)"
if ! az provider register --namespace Microsoft.App --wait ${subscription:+--subscription "$subscription"}; then
  echo "preprovision: could not register Microsoft.App (az login?); run: $manual" >&2
fi
exit 0
