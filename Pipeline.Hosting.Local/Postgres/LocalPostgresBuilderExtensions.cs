using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Pipeline.Hosting.Local.Postgres;

/// <summary>Adds the local mode's PostgreSQL to the app model.</summary>
public static partial class LocalPostgresBuilderExtensions
{
    /// <summary>
    /// Adds resource <paramref name="name"/>: the host's PostgreSQL server on a free loopback
    /// port, initialized with a generated password (parameter <c>{name}-password</c>) in a
    /// fresh data directory before it first starts, and deleted when the AppHost stops.
    /// </summary>
    public static IResourceBuilder<LocalPostgresServerResource> AddLocalPostgres(this IDistributedApplicationBuilder builder, string name)
    {
        var binaries = LocalPostgres.FindBinaries();
        DeleteAbandonedDataDirectories();
        var dataDirectory = LocalPostgres.CreateThrowawayDataDirectory();
        var port = LoopbackPorts.FindFree();
        var (command, arguments) = LocalPostgres.ServerCommand(binaries, dataDirectory, port);

        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        var server = new LocalPostgresServerResource(name, command, dataDirectory, password);

        var healthCheckKey = $"{name}-server";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey,
            _ => new PostgresHealthCheck(server.ConnectionStringExpression.GetValueAsync),
            failureStatus: null,
            tags: null));

        builder.Services.AddHostedService(_ => new DataDirectoryCleanup(dataDirectory));

        return builder.AddResource(server)
            .WithArgs(arguments)
            .WithEndpoint(LocalPostgresServerResource.EndpointName, endpoint =>
            {
                endpoint.UriScheme = "tcp";
                endpoint.Port = port;
                endpoint.TargetPort = port;
                endpoint.TargetHost = "127.0.0.1";
                endpoint.IsProxied = false;
            })
            .WithHealthCheck(healthCheckKey)
            .WithCommand(TakeDownCommand, "Take database down", context => TakeDownAsync(server, context),
                new CommandOptions
                {
                    Description = "Fast shutdown: roll back open transactions and disconnect every client, keeping the data. Start brings it back.",
                    IconName = "PlugDisconnected",
                    UpdateState = context => context.ResourceSnapshot.State?.Text == KnownResourceStates.Running
                        ? ResourceCommandState.Enabled : ResourceCommandState.Disabled,
                })
            .OnBeforeResourceStarted(async (resource, @event, cancellationToken) =>
            {
                if (File.Exists(Path.Combine(resource.DataDirectory, "PG_VERSION")))
                {
                    return; // started before in this run: keep its data
                }

                var logger = @event.Services.GetRequiredService<ResourceLoggerService>().GetLogger(resource);
                LogInitializing(logger, resource.DataDirectory, binaries);
                var secret = await resource.PasswordParameter.GetValueAsync(cancellationToken)
                    ?? throw new InvalidOperationException($"Parameter {resource.PasswordParameter.Name} has no value.");
                await LocalPostgres.InitializeAsync(binaries, resource.DataDirectory, secret, cancellationToken);
            });
    }

    /// <summary>The command that stops the server the way an operator's Ctrl+C would, to rehearse a database outage.</summary>
    public const string TakeDownCommand = "database-down";

    /// <summary>
    /// Adds database <paramref name="name"/> (named <paramref name="databaseName"/> on the
    /// server), created as soon as the server is ready, with a health check that connects to it.
    /// </summary>
    public static IResourceBuilder<LocalPostgresDatabaseResource> AddDatabase(
        this IResourceBuilder<LocalPostgresServerResource> server, string name, string? databaseName = null)
    {
        var builder = server.ApplicationBuilder;
        var database = new LocalPostgresDatabaseResource(name, databaseName ?? name, server.Resource);

        server.OnResourceReady(async (resource, @event, cancellationToken) =>
        {
            // Unpooled: a pooled connection would outlive a restart of the server, broken.
            var connectionString = await resource.ConnectionStringExpression.GetValueAsync(cancellationToken);
            await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
            await connection.OpenAsync(cancellationToken);
            await LocalPostgresDatabaseCreator.CreateIfMissingAsync(connection, database.DatabaseName, cancellationToken);
            await @event.Services.GetRequiredService<ResourceNotificationService>().PublishUpdateAsync(database, state => state with
            {
                State = KnownResourceStates.Running,
                StartTimeStamp = DateTime.UtcNow,
            });
        });

        var healthCheckKey = $"{name}-database";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey,
            _ => new PostgresHealthCheck(database.ConnectionStringExpression.GetValueAsync),
            failureStatus: null,
            tags: null));

        return builder.AddResource(database)
            .WithParentRelationship(server)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "PostgresDatabase",
                State = KnownResourceStates.Waiting,
                Properties = [new(CustomResourceKnownProperties.Source, database.DatabaseName)],
            })
            .WithHealthCheck(healthCheckKey);
    }

    private static async Task<ExecuteCommandResult> TakeDownAsync(LocalPostgresServerResource server, ExecuteCommandContext context)
    {
        if (LocalPostgres.RunningServerPid(server.DataDirectory) is not { } pid)
        {
            return CommandResults.Failure("The PostgreSQL server is not running.");
        }

        var logger = context.Services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
        LogTakingDown(logger);
        await LocalPostgres.RequestFastShutdownAsync(pid);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Directory.Exists($"/proc/{pid}"))
        {
            if (DateTime.UtcNow > deadline)
            {
                return CommandResults.Failure($"PostgreSQL (pid {pid}) has not stopped 30 s after its fast shutdown was requested.");
            }

            await Task.Delay(100, context.CancellationToken);
        }

        return CommandResults.Success();
    }

    // A run that was killed (rather than stopped) leaves its data directory behind; a later
    // run deletes those whose server is gone. Only old ones: a directory made a moment ago
    // may belong to another AppHost whose server has not started yet.
    private static void DeleteAbandonedDataDirectories()
    {
        foreach (var root in Directory.GetDirectories(Path.GetTempPath(), "pipeline-postgres-*"))
        {
            if (Directory.GetLastWriteTimeUtc(root) > DateTime.UtcNow.AddHours(-1))
            {
                continue;
            }

            if (LocalPostgres.RunningServerPid(Path.Combine(root, "data")) is null)
            {
                LocalPostgres.DeleteDataDirectory(Path.Combine(root, "data"));
            }
        }
    }

    private sealed class DataDirectoryCleanup(string dataDirectory) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            // The orchestrator stops the server while the AppHost shuts down; give it a moment.
            var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
            for (var i = 0; i < 50 && File.Exists(pidFile); i++)
            {
                await Task.Delay(100, CancellationToken.None);
            }

            try
            {
                LocalPostgres.DeleteDataDirectory(dataDirectory);
            }
            catch (IOException)
            {
                // Left for the next run's sweep.
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Initializing a throwaway PostgreSQL data directory at {DataDirectory} with {Binaries}.")]
    private static partial void LogInitializing(ILogger logger, string dataDirectory, string binaries);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Taking the database down (fast shutdown); Start brings it back with its data.")]
    private static partial void LogTakingDown(ILogger logger);
}
