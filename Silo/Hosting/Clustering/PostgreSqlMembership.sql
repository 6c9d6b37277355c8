-- Mesh: the PostgreSQL schema behind a region's Orleans membership (Mesh:Orleans:Clustering = adonet).
--
-- Orleans' ADO.NET clustering provider (Microsoft.Orleans.Clustering.AdoNet 10.4.2) issues no SQL of
-- its own: it reads the table OrleansQuery once at start and from then on runs the text stored under
-- each key, binding parameters by name (@DeploymentId, @Address, @Port, @Generation, @SiloName,
-- @HostName, @Status, @ProxyPort, @SuspectTimes, @StartTime, @IAmAliveTime, @Version) and reading the
-- columns it needs by name. Writes answer one row whose first value is > 0 on success, 0 when the
-- table version (the etag) moved on; a write that fails changes nothing.
--
-- MembershipSchema applies this file at silo start, inside one transaction that holds an advisory
-- lock, so silos starting together apply it one after the other; every statement may run again.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL,
    QueryText varchar(8000) NOT NULL,
    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
);

-- One row per cluster (DeploymentId is the Orleans cluster id): the version every membership write
-- compares and moves on.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0,
    CONSTRAINT PK_OrleansMembershipVersionTable_DeploymentId PRIMARY KEY (DeploymentId)
);

-- One row per silo incarnation (address, port and generation).
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL,
    Address      varchar(45)    NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer        NULL,
    SuspectTimes varchar(8000)  NULL,
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,
    CONSTRAINT PK_MembershipTable_DeploymentId PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT FK_MembershipTable_MembershipVersionTable_DeploymentId
        FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

-- The cluster's version row; 1 when this call created it, 0 when it was there already.
CREATE OR REPLACE FUNCTION mesh_membership_add_cluster(cluster varchar)
RETURNS integer LANGUAGE plpgsql AS $body$
BEGIN
    INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES (cluster)
    ON CONFLICT (DeploymentId) DO NOTHING;
    RETURN CASE WHEN FOUND THEN 1 ELSE 0 END;
END
$body$;

-- A silo joins: only while the version is still the one the silo read, and only once per incarnation.
-- The version moves first; when the row turns out to exist already, the inner block's exception undoes
-- that move, so a refused join leaves the tables as they were.
CREATE OR REPLACE FUNCTION mesh_membership_add_silo(
    cluster varchar, silo_address varchar, silo_port integer, silo_generation integer,
    silo_name varchar, host_name varchar, silo_status integer, gateway_port integer,
    started timestamptz, alive timestamptz, expected_version integer)
RETURNS integer LANGUAGE plpgsql AS $body$
BEGIN
    BEGIN
        UPDATE OrleansMembershipVersionTable
           SET Version = Version + 1, Timestamp = now()
         WHERE DeploymentId = cluster AND Version = expected_version AND Version < 2147483647;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
        INSERT INTO OrleansMembershipTable
            (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
        VALUES
            (cluster, silo_address, silo_port, silo_generation, silo_name, host_name, silo_status, gateway_port, started, alive)
        ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'silo row exists' USING ERRCODE = 'MESH1';
        END IF;
        RETURN 1;
    EXCEPTION WHEN SQLSTATE 'MESH1' THEN
        RETURN 0;
    END;
END
$body$;

-- A silo's status and suspicions change, under the same version rule as a join.
CREATE OR REPLACE FUNCTION mesh_membership_change_silo(
    cluster varchar, silo_address varchar, silo_port integer, silo_generation integer,
    silo_status integer, suspicions varchar, alive timestamptz, expected_version integer)
RETURNS integer LANGUAGE plpgsql AS $body$
BEGIN
    BEGIN
        UPDATE OrleansMembershipVersionTable
           SET Version = Version + 1, Timestamp = now()
         WHERE DeploymentId = cluster AND Version = expected_version AND Version < 2147483647;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
        UPDATE OrleansMembershipTable
           SET Status = silo_status,
               SuspectTimes = suspicions,
               IAmAliveTime = GREATEST(IAmAliveTime, alive)
         WHERE DeploymentId = cluster AND Address = silo_address AND Port = silo_port AND Generation = silo_generation;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no such silo row' USING ERRCODE = 'MESH1';
        END IF;
        RETURN 1;
    EXCEPTION WHEN SQLSTATE 'MESH1' THEN
        RETURN 0;
    END;
END
$body$;

-- The queries the provider runs, by key. Re-applying the file replaces their text with this one's.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('InsertMembershipVersionKey', $q$
    SELECT mesh_membership_add_cluster(@DeploymentId) AS inserted;
$q$),
('InsertMembershipKey', $q$
    SELECT mesh_membership_add_silo(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
                                    @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version) AS inserted;
$q$),
('UpdateMembershipKey', $q$
    SELECT mesh_membership_change_silo(@DeploymentId, @Address, @Port, @Generation,
                                       @Status, @SuspectTimes, @IAmAliveTime, @Version) AS updated;
$q$),
('UpdateIAmAlivetimeKey', $q$
    UPDATE OrleansMembershipTable
       SET IAmAliveTime = GREATEST(IAmAliveTime, @IAmAliveTime)
     WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation;
$q$),
-- The version row comes back even for a silo (or a cluster) with no membership row yet: the provider
-- takes the etag from it.
('MembershipReadRowKey', $q$
    SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
           m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
      FROM OrleansMembershipVersionTable v
      LEFT JOIN OrleansMembershipTable m
        ON m.DeploymentId = v.DeploymentId
       AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
     WHERE v.DeploymentId = @DeploymentId;
$q$),
('MembershipReadAllKey', $q$
    SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
           m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
      FROM OrleansMembershipVersionTable v
      LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
     WHERE v.DeploymentId = @DeploymentId;
$q$),
('DeleteMembershipTableEntriesKey', $q$
    DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
    DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;
$q$),
-- Status 3 is Active: clients (and 'mesh') are handed the gateways of active silos only.
('GatewaysQueryKey', $q$
    SELECT Address, ProxyPort, Generation
      FROM OrleansMembershipTable
     WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0;
$q$),
-- Dead (status 6) rows that stopped living before the cutoff and carry no suspicion.
('CleanupDefunctSiloEntriesKey', $q$
    DELETE FROM OrleansMembershipTable
     WHERE DeploymentId = @DeploymentId AND Status = 6
       AND IAmAliveTime < @IAmAliveTime AND StartTime < @IAmAliveTime
       AND COALESCE(SuspectTimes, '') = '';
$q$),
-- One dead row, exactly as the provider read it (it decides the cutoff itself).
('CleanupDefunctSiloEntryKey', $q$
    DELETE FROM OrleansMembershipTable
     WHERE DeploymentId = @DeploymentId AND Status = 6
       AND Address = @Address AND Port = @Port AND Generation = @Generation
       AND IAmAliveTime = @IAmAliveTime AND StartTime = @StartTime
       AND COALESCE(SuspectTimes, '') = COALESCE(@SuspectTimes, '');
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
