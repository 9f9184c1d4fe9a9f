using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pipeline.Hosting.Local.Kafka;

/// <summary>
/// A Schema Registry for the local mode, hosted in the AppHost process (Kestrel on 127.0.0.1), as
/// <see cref="LocalKafkaBroker"/> hosts the broker: no registry server is packaged for this
/// machine. It speaks the part of the Confluent Schema Registry REST API (v1) that the Confluent
/// .NET client and its Avro serdes use, keeps everything in memory, and enforces BACKWARD
/// compatibility on every subject:
/// <list type="bullet">
/// <item><c>POST /subjects/{subject}/versions</c>: register (the same schema again answers its id);
/// 409 when not BACKWARD compatible with the latest version, 422 for a schema that does not parse.</item>
/// <item><c>POST /subjects/{subject}</c>: look a schema up in a subject.</item>
/// <item><c>GET /schemas/ids/{id}</c>: a schema by id.</item>
/// <item><c>GET /subjects</c>, <c>GET /subjects/{subject}/versions</c>,
/// <c>GET /subjects/{subject}/versions/{version|latest}</c>.</item>
/// <item><c>POST /compatibility/subjects/{subject}/versions/{version|latest}</c>: the check alone.</item>
/// <item><c>GET /config</c>, <c>GET /config/{subject}</c>: always BACKWARD.</item>
/// </list>
/// Not implemented: other schema types (Protobuf, JSON Schema), references, deletes, modes,
/// setting the compatibility level, contexts, authentication. A development and test registry only.
/// </summary>
public sealed class LocalSchemaRegistry : IAsyncDisposable
{
    private const string ContentType = "application/vnd.schemaregistry.v1+json";

    private readonly WebApplication _app;
    private readonly LocalSchemaStore _store = new();

    private LocalSchemaRegistry(WebApplication app)
    {
        _app = app;
    }

    /// <summary>The registry's base URL, e.g. <c>http://127.0.0.1:41234</c>: the connection string services are given.</summary>
    public string Url { get; private set; } = "";

    /// <summary>Starts a registry on 127.0.0.1 (a free port unless <paramref name="port"/> is given).</summary>
    public static async Task<LocalSchemaRegistry> StartAsync(int port = 0, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var registry = new LocalSchemaRegistry(builder.Build());
        registry.Map(registry._app);
        await registry._app.StartAsync(cancellationToken);
        registry.Url = registry._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return registry;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private void Map(WebApplication app)
    {
        app.MapGet("/subjects", () => Json(new JsonArray([.. _store.Subjects().Select(subject => JsonValue.Create(subject))])));
        app.MapGet("/subjects/{subject}/versions", (string subject) =>
            _store.Versions(subject) is { } versions
                ? Json(new JsonArray([.. versions.Select(version => JsonValue.Create(version))]))
                : SubjectNotFound(subject));
        app.MapGet("/subjects/{subject}/versions/{version}", (string subject, string version) =>
            _store.Version(subject, version) is { } found ? Json(Describe(subject, found)) : VersionNotFound(subject, version));
        app.MapPost("/subjects/{subject}/versions", async (string subject, HttpRequest request) =>
        {
            var (schema, problem) = await ReadSchemaAsync(request);
            if (problem is not null)
            {
                return problem;
            }

            var outcome = _store.Register(subject, schema!);
            return outcome.Incompatibility is { } message
                ? Error(StatusCodes.Status409Conflict, 409, message)
                : Json(new JsonObject { ["id"] = outcome.Id });
        });
        app.MapPost("/subjects/{subject}", async (string subject, HttpRequest request) =>
        {
            var (schema, problem) = await ReadSchemaAsync(request);
            if (problem is not null)
            {
                return problem;
            }

            if (_store.Versions(subject) is null)
            {
                return SubjectNotFound(subject);
            }

            return _store.Find(subject, schema!) is { } found ? Json(Describe(subject, found)) : Error(StatusCodes.Status404NotFound, 40403, "Schema not found");
        });
        app.MapGet("/schemas/ids/{id:int}", (int id) =>
            _store.ById(id) is { } schema
                ? Json(new JsonObject { ["schema"] = schema.Text })
                : Error(StatusCodes.Status404NotFound, 40403, $"Schema {id} not found"));
        app.MapPost("/compatibility/subjects/{subject}/versions/{version}", async (string subject, string version, HttpRequest request) =>
        {
            var (schema, problem) = await ReadSchemaAsync(request);
            if (problem is not null)
            {
                return problem;
            }

            if (_store.Version(subject, version) is not { } against)
            {
                return _store.Versions(subject) is null ? SubjectNotFound(subject) : VersionNotFound(subject, version);
            }

            var incompatibilities = LocalSchemaCompatibility.Backward(schema!.Parsed, against.Schema.Parsed);
            var answer = new JsonObject { ["is_compatible"] = incompatibilities.Count == 0 };
            if (request.Query.ContainsKey("verbose"))
            {
                answer["messages"] = new JsonArray([.. incompatibilities.Select(message => JsonValue.Create(message))]);
            }

            return Json(answer);
        });
        app.MapGet("/config", () => Json(new JsonObject { ["compatibilityLevel"] = LocalSchemaStore.Compatibility }));
        app.MapGet("/config/{subject}", (string subject) => Json(new JsonObject { ["compatibilityLevel"] = LocalSchemaStore.Compatibility }));
    }

    private static JsonObject Describe(string subject, StoredVersion found) => new()
    {
        ["subject"] = subject,
        ["version"] = found.Version,
        ["id"] = found.Schema.Id,
        ["schema"] = found.Schema.Text,
    };

    private static async Task<(ParsedSchema? Schema, IResult? Problem)> ReadSchemaAsync(HttpRequest request)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body);
        }
        catch (JsonException exception)
        {
            return (null, Error(StatusCodes.Status422UnprocessableEntity, 42201, "Invalid request body: " + exception.Message));
        }

        if (body?["schemaType"]?.GetValue<string>() is { } type && !string.Equals(type, "AVRO", StringComparison.OrdinalIgnoreCase))
        {
            return (null, Error(StatusCodes.Status422UnprocessableEntity, 42201, $"Invalid schema type {type}: the local registry knows only AVRO."));
        }

        if (body?["references"] is JsonArray { Count: > 0 })
        {
            return (null, Error(StatusCodes.Status422UnprocessableEntity, 42201, "Schema references are not supported by the local registry."));
        }

        if (body?["schema"]?.GetValue<string>() is not { } text)
        {
            return (null, Error(StatusCodes.Status422UnprocessableEntity, 42201, "The request has no 'schema'."));
        }

        try
        {
            return (ParsedSchema.Parse(text), null);
        }
        catch (Exception exception) when (exception is global::Avro.AvroException or Newtonsoft.Json.JsonException)
        {
            return (null, Error(StatusCodes.Status422UnprocessableEntity, 42201, "Invalid schema: " + exception.Message));
        }
    }

    private static IResult SubjectNotFound(string subject) => Error(StatusCodes.Status404NotFound, 40401, $"Subject '{subject}' not found.");

    private static IResult VersionNotFound(string subject, string version) => Error(StatusCodes.Status404NotFound, 40402, $"Version {version} not found for subject '{subject}'.");

    private static IResult Json(JsonNode node) => Results.Text(node.ToJsonString(), ContentType);

    private static IResult Error(int status, int code, string message) =>
        Results.Text(new JsonObject { ["error_code"] = code, ["message"] = message }.ToJsonString(), ContentType, statusCode: status);
}
