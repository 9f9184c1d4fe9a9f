using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Migrator;

// Runs once before any service touches the database: applies pending scripts, then exits.
// Exit code 0 means the schema is current; anything else keeps the services that wait on
// the migrator from starting.
var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
using var host = builder.Build();
var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.Migrator");

var connectionString = builder.Configuration.GetConnectionString(MigratorConnection.Name);
if (string.IsNullOrWhiteSpace(connectionString))
{
    logger.LogCritical("No database connection: set ConnectionStrings:{ConnectionName}, or run the migrator from Pipeline.AppHost.", MigratorConnection.Name);
    return 2;
}

try
{
    var applied = await MigratorConnection.RetryWhileUnreachableAsync(() => DatabaseMigrations.Apply(connectionString, logger), logger);
    if (applied.Count == 0)
    {
        logger.LogInformation("The database schema is current; no script to apply.");
    }
    else
    {
        logger.LogInformation("Applied {ScriptCount} migration script(s): {Scripts}", applied.Count, string.Join(", ", applied));
    }

    return 0;
}
catch (Exception exception)
{
    logger.LogCritical(exception, "Database migration failed; services that wait for the migrator will not start.");
    return 1;
}
