-- Gives the Function App's user-assigned managed identity read access to the Gold tables.
-- Run against the Gold database (not master) as a Microsoft Entra admin of the server, for example by
-- infra/scripts/postprovision.sh through sqlcmd, which sets the $(IDENTITY_NAME) variable.
-- Idempotent: safe to run after every `azd provision`.

IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'$(IDENTITY_NAME)')
BEGIN
    -- A contained user mapped to the Entra ID service principal of the identity (no login, no password).
    CREATE USER [$(IDENTITY_NAME)] FROM EXTERNAL PROVIDER;
END;

IF IS_ROLEMEMBER(N'db_datareader', N'$(IDENTITY_NAME)') = 0
BEGIN
    ALTER ROLE db_datareader ADD MEMBER [$(IDENTITY_NAME)];
END;
