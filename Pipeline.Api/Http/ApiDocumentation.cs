using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Pipeline.Api.Http;

/// <summary>
/// The request body of an endpoint that reads its body itself, for the OpenAPI document only.
/// Unlike <c>Accepts&lt;T&gt;()</c> it adds no <c>IAcceptsMetadata</c>, whose routing policy
/// would answer 415 before authentication and before the endpoint's own checks.
/// </summary>
public sealed record RequestBodyMetadata(Type Type, IReadOnlyList<string> ContentTypes);

/// <summary>An example request body for one content type of an endpoint, shown in the OpenAPI document.</summary>
public sealed record RequestExampleMetadata(string ContentType, string Name, string Summary, object Value);

/// <summary>The description (and optionally an example body) of one response status of an endpoint or group.</summary>
public sealed record ResponseDocumentationMetadata(int StatusCode, string Description, object? Example);

/// <summary>Marks a request type whose JSON refuses unknown properties, so its schema says <c>additionalProperties: false</c>.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class NoAdditionalPropertiesAttribute : Attribute;

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>, no key needed) and, in Development, its Scalar UI
/// (<c>/scalar</c>): the API-key security scheme on every endpoint that requires it, the error
/// codes, response descriptions and examples declared on endpoints, and the <c>code</c> and
/// <c>traceId</c> members that every problem carries.
/// </summary>
public static class ApiDocumentation
{
    /// <summary>Where the OpenAPI document is served.</summary>
    public const string OpenApiDocumentPath = "/openapi/v1.json";

    private const string NdjsonMediaType = "application/x-ndjson";

    /// <summary>Documents the request body as <typeparamref name="TBody"/> in <paramref name="contentTypes"/>.</summary>
    public static RouteHandlerBuilder WithRequestBody<TBody>(this RouteHandlerBuilder builder, params string[] contentTypes) =>
        builder.WithMetadata(new RequestBodyMetadata(typeof(TBody), contentTypes));

    /// <summary>Adds an example request body, shown for <paramref name="contentType"/>.</summary>
    public static TBuilder WithRequestExample<TBuilder>(this TBuilder builder, string contentType, string name, string summary, object value)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequestExampleMetadata(contentType, name, summary, value));

    /// <summary>Describes one response status, optionally with an example body. Works on a group too.</summary>
    public static TBuilder WithResponseDocumentation<TBuilder>(this TBuilder builder, int statusCode, string description, object? example = null)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ResponseDocumentationMetadata(statusCode, description, example));

    internal static IHostApplicationBuilder AddApiDocumentation(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                DescribeDocument(document);
                // No server entry: the generator would write the request's own Host header into the
                // document. Without one, clients resolve paths against where they read the document.
                document.Servers = [];
                // Read endpoints answer HEAD too; listing it again as its own operation adds nothing.
                foreach (var path in document.Paths.Values)
                {
                    path.Operations?.Remove(HttpMethod.Head);
                }

                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                await DescribeRequestBodyAsync(operation, context, cancellationToken);
                DescribeOperation(operation, context);
            });
            options.AddSchemaTransformer((schema, context, _) =>
            {
                DescribeProblemSchema(schema, context.JsonTypeInfo.Type);
                DescribeWideRange(schema, context.JsonPropertyInfo);
                if (context.JsonTypeInfo.Type.IsDefined(typeof(NoAdditionalPropertiesAttribute), inherit: false))
                {
                    schema.AdditionalPropertiesAllowed = false;
                }

                return Task.CompletedTask;
            });
        });
        return builder;
    }

    /// <summary>Maps the OpenAPI document, and the Scalar UI in Development. Neither needs an API key.</summary>
    public static WebApplication MapApiDocumentation(this WebApplication app)
    {
        // The one document by its full path: any other name is the API's usual 404 problem, not
        // the generator's text/plain answer for an unknown document.
        app.MapOpenApi(OpenApiDocumentPath);
        if (app.Environment.IsDevelopment())
        {
            app.MapScalarApiReference(scalar => scalar
                .WithTitle("Pipeline API")
                .AddPreferredSecuritySchemes(ApiKeyDefaults.Scheme));
        }

        return app;
    }

    private static void DescribeDocument(OpenApiDocument document)
    {
        var description = new StringBuilder()
            .AppendLine("Ingest of events into the pipeline. Every `/api` endpoint needs an API key in the `X-Api-Key` header ")
            .AppendLine("and is rate-limited per key. Every error is an RFC 9457 problem (`application/problem+json`) with a ")
            .AppendLine("stable `code` and the request's `traceId`.")
            .AppendLine()
            .AppendLine("| code | meaning |")
            .AppendLine("| --- | --- |");
        foreach (var (code, meaning) in ErrorCodes.Descriptions)
        {
            description.Append("| `").Append(code).Append("` | ").Append(meaning).AppendLine(" |");
        }

        document.Info.Title = "Pipeline API";
        document.Info.Description = description.ToString();
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[ApiKeyDefaults.Scheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = ApiKeyDefaults.HeaderName,
            Description = "One of the keys in configuration Api:Keys (the AppHost's secret parameter api-key).",
        };
    }

    private static async Task DescribeRequestBodyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var body = context.Description.ActionDescriptor.EndpointMetadata.OfType<RequestBodyMetadata>().LastOrDefault();
        if (body is null || context.Document is not { } document)
        {
            return;
        }

        // The item type becomes a component, referenced from every content type.
        var itemType = body.Type.IsArray ? body.Type.GetElementType()! : body.Type;
        var itemSchema = await context.GetOrCreateSchemaAsync(itemType, parameterDescription: null, cancellationToken);
        document.AddComponent(itemType.Name, itemSchema);
        IOpenApiSchema reference = new OpenApiSchemaReference(itemType.Name, document);
        var schema = body.Type.IsArray ? new OpenApiSchema { Type = JsonSchemaType.Array, Items = reference } : reference;

        var content = new Dictionary<string, OpenApiMediaType>();
        foreach (var contentType in body.ContentTypes)
        {
            content[contentType] = new OpenApiMediaType { Schema = schema };
        }

        operation.RequestBody = new OpenApiRequestBody { Required = true, Content = content };
    }

    private static void DescribeOperation(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        if (metadata.OfType<IAuthorizeData>().Any() && context.Document is { } document)
        {
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(ApiKeyDefaults.Scheme, document)] = [],
            });
        }

        // NDJSON is not a JSON array: say what each line holds.
        if (operation.RequestBody?.Content?.TryGetValue(NdjsonMediaType, out var ndjson) is true && ndjson.Schema is { Items: { } item })
        {
            ndjson.Schema = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Description = "Newline-delimited JSON: one object per line, each like an item of the application/json array" +
                    (item is OpenApiSchemaReference reference ? $" ({reference.Reference.Id})" : "") + ". Blank lines are skipped.",
            };
        }

        foreach (var example in metadata.OfType<RequestExampleMetadata>())
        {
            if (operation.RequestBody?.Content is { } content && content.TryGetValue(example.ContentType, out var mediaType))
            {
                AddExample(mediaType, example.Name, example.Summary, example.Value);
            }
        }

        // The last declaration of a status wins, so an endpoint can refine what its group says.
        foreach (var response in metadata.OfType<ResponseDocumentationMetadata>())
        {
            var key = response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses?.TryGetValue(key, out var documented) is true && documented is OpenApiResponse openApiResponse)
            {
                openApiResponse.Description = response.Description;
                if (response.Example is not null && openApiResponse.Content is { Count: > 0 } content)
                {
                    foreach (var mediaType in content.Values)
                    {
                        AddExample(mediaType, "example", "Example", response.Example);
                    }
                }
            }
        }
    }

    private static void AddExample(OpenApiMediaType mediaType, string name, string summary, object value)
    {
        mediaType.Examples ??= new Dictionary<string, IOpenApiExample>();
        mediaType.Examples[name] = new OpenApiExample
        {
            Summary = summary,
            Value = value is string text ? JsonValue.Create(text) : JsonSerializer.SerializeToNode(value, value.GetType(), JsonSerializerOptions.Web),
        };
    }

    // The generator reads [Range] bounds as decimals and drops those beyond decimal's range, such
    // as an event value's ±1e300: write them as the numbers they are.
    private static void DescribeWideRange(OpenApiSchema schema, JsonPropertyInfo? property)
    {
        if (property?.AttributeProvider?.GetCustomAttributes(typeof(RangeAttribute), inherit: false) is [RangeAttribute { Minimum: double minimum, Maximum: double maximum }])
        {
            schema.Minimum = minimum.ToString("R", CultureInfo.InvariantCulture);
            schema.Maximum = maximum.ToString("R", CultureInfo.InvariantCulture);
        }
    }

    // Members that ApiProblems adds to every problem at run time, so the schema says so.
    private static void DescribeProblemSchema(OpenApiSchema schema, Type type)
    {
        if (!typeof(ProblemDetails).IsAssignableFrom(type))
        {
            return;
        }

        schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
        schema.Properties[ApiProblems.CodeMember] = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Description = "The stable error code; the document's description lists them all.",
        };
        schema.Properties[ApiProblems.TraceIdMember] = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Description = "The W3C trace id of the request, to find its logs and spans.",
        };
        schema.Required ??= new HashSet<string>();
        schema.Required.Add(ApiProblems.CodeMember);
    }
}
