using Microsoft.Extensions.DependencyInjection.Extensions;
using Pipeline.Api.Aggregates;
using Pipeline.Contracts;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers and maps the read side of the API: aggregates and keys from PostgreSQL, and the change stream.</summary>
public static class AggregateQueriesExtensions
{
    /// <summary>The connection string name of the pipeline's database.</summary>
    public const string DatabaseConnectionName = ConnectionNames.Database;

    /// <summary>
    /// Adds the <c>pipelinedb</c> data source (Aspire.Npgsql: pooling, health check, traces and
    /// metrics) and the change feed that serves <c>GET /api/aggregates/stream</c>.
    /// </summary>
    public static IHostApplicationBuilder AddAggregateQueries(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDataSource(DatabaseConnectionName);
        ChangeStreamOptions.Register(builder.Services);
        builder.Services.TryAddSingleton<AggregateChangeFeed>();
        builder.Services.TryAddSingleton<WindowCursors>();
        builder.Services.AddHostedService(services => services.GetRequiredService<AggregateChangeFeed>());
        builder.Services.AddHealthChecks().AddCheck<AggregateChangeFeed>("aggregate-change-feed", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// Maps <c>/aggregates/{key}</c>, <c>/aggregates/{key}/windows</c>, <c>/aggregates/stream</c>
    /// and <c>/keys</c> onto <paramref name="api"/> (the <c>/api</c> group, which carries the
    /// API-key requirement).
    /// </summary>
    public static RouteGroupBuilder MapAggregatesApi(this RouteGroupBuilder api) =>
        api.MapAggregateEndpoints().MapKeyEndpoints();
}
