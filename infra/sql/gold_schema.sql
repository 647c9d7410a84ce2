-- Gold schema for Azure SQL (T-SQL). The embedded SQLite twin lives in localdev/gold_schema.py;
-- tests/unit/localdev/test_gold_schema.py parses this file with sqlglot and keeps both in step.
-- Instants are stored in UTC (DIM_TIME.horodatage) so the repeated local hour of the autumn DST day
-- is never ambiguous; the Europe/Paris day and wall-clock time sit beside them for grouping.

CREATE TABLE DIM_REGION (
    id_region INT NOT NULL PRIMARY KEY,
    code_insee NVARCHAR(3) NOT NULL UNIQUE,
    nom_region NVARCHAR(100) NOT NULL
);

CREATE TABLE DIM_TIME (
    id_date INT NOT NULL PRIMARY KEY, -- minutes since 1970-01-01T00:00:00Z
    horodatage DATETIME2(0) NOT NULL UNIQUE, -- the UTC instant
    date_locale DATE NOT NULL, -- Europe/Paris day of that instant
    heure_locale NVARCHAR(5) NOT NULL, -- Europe/Paris wall-clock time, HH:MM
    utc_offset_minutes SMALLINT NOT NULL -- 60 or 120
);

CREATE TABLE DIM_SOURCE (
    id_source INT NOT NULL PRIMARY KEY,
    source_name NVARCHAR(32) NOT NULL UNIQUE,
    category NVARCHAR(16) NOT NULL CHECK (category IN ('production', 'balance', 'consumption')),
    unit NVARCHAR(8) NOT NULL
);

CREATE TABLE FACT_ENERGY_FLOW (
    id_region INT NOT NULL REFERENCES DIM_REGION (id_region),
    id_date INT NOT NULL REFERENCES DIM_TIME (id_date),
    id_source INT NOT NULL REFERENCES DIM_SOURCE (id_source),
    valeur_mw FLOAT NULL, -- mean power over the half-hour; NULL when the file says ND or nothing
    facteur_charge FLOAT NULL, -- TCH in %, production sources only
    nature NVARCHAR(64) NOT NULL, -- éCO2mix data nature, e.g. 'Données définitives'
    loaded_at DATETIME2(6) NOT NULL, -- UTC; bumped only when the values change (watermark)
    CONSTRAINT PK_FACT_ENERGY_FLOW PRIMARY KEY (id_region, id_date, id_source)
);

CREATE INDEX IX_FACT_region_date ON FACT_ENERGY_FLOW (id_region, id_date);
CREATE INDEX IX_FACT_loaded_at ON FACT_ENERGY_FLOW (loaded_at);
CREATE INDEX IX_TIME_date_locale ON DIM_TIME (date_locale);

-- Fixed dimensions (the same rows stores/gold_schema.py seeds into SQLite; a test compares them).
INSERT INTO DIM_REGION (id_region, code_insee, nom_region) VALUES
    (11, N'11', N'Île-de-France'),
    (24, N'24', N'Centre-Val de Loire'),
    (27, N'27', N'Bourgogne-Franche-Comté'),
    (28, N'28', N'Normandie'),
    (32, N'32', N'Hauts-de-France'),
    (44, N'44', N'Grand Est'),
    (52, N'52', N'Pays de la Loire'),
    (53, N'53', N'Bretagne'),
    (75, N'75', N'Nouvelle-Aquitaine'),
    (76, N'76', N'Occitanie'),
    (84, N'84', N'Auvergne-Rhône-Alpes'),
    (93, N'93', N'Provence-Alpes-Côte d''Azur');

INSERT INTO DIM_SOURCE (id_source, source_name, category, unit) VALUES
    (1, N'nucleaire', N'production', N'MW'),
    (2, N'thermique', N'production', N'MW'),
    (3, N'hydraulique', N'production', N'MW'),
    (4, N'eolien', N'production', N'MW'),
    (5, N'solaire', N'production', N'MW'),
    (6, N'bioenergies', N'production', N'MW'),
    (7, N'pompage', N'balance', N'MW'),
    (8, N'ech_physiques', N'balance', N'MW'),
    (9, N'consommation', N'consumption', N'MW');
