# azd postprovision hook on Windows: the same steps as postprovision.sh. Creates the managed identity's
# contained user in the Gold database with SELECT on the Gold tables (grant-gold-reader.sql). Needs sqlcmd (go-sqlcmd)
# and an `az login` / `azd auth login` identity that is a Microsoft Entra admin of the SQL server.
$ErrorActionPreference = 'Stop'

$sqlFile = Join-Path $PSScriptRoot 'grant-gold-reader.sql'

# azd exports the outputs of main.bicep as environment variables of its hooks.
$server = "$env:GOLD_SQL_SERVER"
$database = "$env:GOLD_SQL_DATABASE"
$identity = "$env:API_IDENTITY_NAME"

if (-not $identity) {
  Write-Error "postprovision: API_IDENTITY_NAME is not set; run this hook through 'azd provision'."
  exit 1
}

if (-not $server -or -not $database) {
  Write-Output 'postprovision: GOLD_SQL_SERVER / GOLD_SQL_DATABASE not set: skipping the Gold SQL grant.'
  Write-Output '  Set them (azd env set GOLD_SQL_SERVER <server>.database.windows.net; azd env set GOLD_SQL_DATABASE <db>)'
  Write-Output "  and run 'azd provision' again, or run $sqlFile yourself with IDENTITY_NAME=$identity."
  exit 0
}

if (-not (Get-Command sqlcmd -ErrorAction SilentlyContinue)) {
  Write-Error ("postprovision: sqlcmd not found. Install go-sqlcmd, then run:`n" +
    "  sqlcmd -S $server -d $database --authentication-method ActiveDirectoryDefault -v IDENTITY_NAME=$identity -i $sqlFile")
  exit 1
}

Write-Output "postprovision: granting SELECT on the Gold tables of $server/$database to $identity"
& sqlcmd -S $server -d $database --authentication-method ActiveDirectoryDefault -b `
  -v "IDENTITY_NAME=$identity" -i $sqlFile
exit $LASTEXITCODE
