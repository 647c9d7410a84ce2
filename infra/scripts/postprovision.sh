#!/bin/sh
# azd postprovision hook: create the managed identity's contained user in the Gold database with
# SELECT on the Gold tables (infra/scripts/grant-gold-reader.sql). Needs sqlcmd (go-sqlcmd) and an `az login` /
# `azd auth login` identity that is a Microsoft Entra admin of the SQL server. Without GOLD_SQL_SERVER
# (no Gold database configured yet) it only prints what to run later.
set -eu

script_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
sql_file="$script_dir/grant-gold-reader.sql"

# azd exports the outputs of main.bicep as environment variables of its hooks.
server="${GOLD_SQL_SERVER:-}"
database="${GOLD_SQL_DATABASE:-}"
identity="${API_IDENTITY_NAME:-}"

if [ -z "$identity" ]; then
  echo "postprovision: API_IDENTITY_NAME is not set; run this hook through 'azd provision'." >&2
  exit 1
fi

if [ -z "$server" ] || [ -z "$database" ]; then
  echo "postprovision: GOLD_SQL_SERVER / GOLD_SQL_DATABASE not set: skipping the Gold SQL grant."
  echo "  Set them (azd env set GOLD_SQL_SERVER <server>.database.windows.net; azd env set GOLD_SQL_DATABASE <db>)"
  echo "  and run 'azd provision' again, or run $sql_file yourself with IDENTITY_NAME=$identity."
  exit 0
fi

if ! command -v sqlcmd >/dev/null 2>&1; then
  echo "postprovision: sqlcmd not found. Install go-sqlcmd, then run:" >&2
  echo "  sqlcmd -S $server -d $database --authentication-method ActiveDirectoryDefault -v IDENTITY_NAME=$identity -i $sql_file" >&2
  exit 1
fi

echo "postprovision: granting SELECT on the Gold tables of $server/$database to $identity"
sqlcmd -S "$server" -d "$database" --authentication-method ActiveDirectoryDefault -b \
  -v IDENTITY_NAME="$identity" -i "$sql_file"
