-- A read-only role for the Go API: SELECT on modeling, nothing on racing. Created only where the
-- connecting user may create roles; elsewhere the migration says so and a DBA runs this file.
-- Roles belong to the whole server, so two databases migrated at once may both try to create it:
-- the loser of that race finds it made and carries on.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'giddyup_api') THEN
            BEGIN
                CREATE ROLE giddyup_api NOLOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a migration of another database
            END;
        END IF;
        GRANT USAGE ON SCHEMA modeling TO giddyup_api;
        GRANT SELECT ON ALL TABLES IN SCHEMA modeling TO giddyup_api;
        ALTER DEFAULT PRIVILEGES IN SCHEMA modeling GRANT SELECT ON TABLES TO giddyup_api;
        RAISE NOTICE 'role giddyup_api is read-only on schema modeling; grant it to the API''s login role';
    ELSE
        RAISE NOTICE 'role giddyup_api NOT created: user % may not create roles; ask a DBA to run migrations/modeling/005_api_read_role.sql', current_user;
    END IF;
END
$$;
