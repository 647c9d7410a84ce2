-- Gives the Function App's user-assigned managed identity read access to the four Gold tables, and nothing
-- else of the database (SELECT on each table, not db_datareader, which reads every table and view there is
-- and will be). Run against the Gold database (not master) as a Microsoft Entra admin of the server, for
-- example by infra/scripts/postprovision.sh through sqlcmd, which sets the $(IDENTITY_NAME) variable.
-- Idempotent: safe to run after every `azd provision`.

IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'$(IDENTITY_NAME)')
BEGIN
    -- A contained user mapped to the Entra ID service principal of the identity (no login, no password).
    CREATE USER [$(IDENTITY_NAME)] FROM EXTERNAL PROVIDER;
END;

-- The tables the materialization reads (infra/sql/gold_schema.sql); GRANT is idempotent.
GRANT SELECT ON OBJECT::dbo.FACT_ENERGY_FLOW TO [$(IDENTITY_NAME)];
GRANT SELECT ON OBJECT::dbo.DIM_REGION TO [$(IDENTITY_NAME)];
GRANT SELECT ON OBJECT::dbo.DIM_TIME TO [$(IDENTITY_NAME)];
GRANT SELECT ON OBJECT::dbo.DIM_SOURCE TO [$(IDENTITY_NAME)];

-- An earlier version of this script made the identity a db_datareader: take that wider grant back.
IF IS_ROLEMEMBER(N'db_datareader', N'$(IDENTITY_NAME)') = 1
BEGIN
    ALTER ROLE db_datareader DROP MEMBER [$(IDENTITY_NAME)];
END;
