# azd preprovision hook on Windows: the same step as preprovision.sh. Flex Consumption VNet integration
# needs the Microsoft.App resource provider registered in the subscription; ARM does not register it by
# itself. Never blocks provisioning: without az, or when az fails, it prints the command to run.
$subscription = "$env:AZURE_SUBSCRIPTION_ID"
$subscriptionArgs = @()
if ($subscription) { $subscriptionArgs = @('--subscription', $subscription) }
$manual = "az provider register --namespace Microsoft.App $($subscriptionArgs -join ' ')".Trim()

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  [Console]::Error.WriteLine("preprovision: Azure CLI (az) not found; if provisioning fails on the VNet integration, run: $manual")
  exit 0
}

$state = & az provider show --namespace Microsoft.App --query registrationState -o tsv @subscriptionArgs 2>$null
if ($LASTEXITCODE -ne 0) { $state = 'unknown' }

if ($state -eq 'Registered') {
  exit 0
}

Write-Output 'preprovision: registering the Microsoft.App resource provider (Flex Consumption VNet integration)'
& az provider register --namespace Microsoft.App --wait @subscriptionArgs
if ($LASTEXITCODE -ne 0) {
  [Console]::Error.WriteLine("preprovision: could not register Microsoft.App (az login?); run: $manual")
}
exit 0
